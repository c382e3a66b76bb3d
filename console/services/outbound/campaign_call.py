"""What a connected campaign call brings to the agent's pop: the campaign, the list entry's
customer, the script with the customer's fields filled in, and the campaign's dispositions.

Read in the screen pop's own database hop (`console.services.desk.screenpop`): one indexed
query by the list entry's id, so a campaign call pops as fast as an inbound one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, select

from console.models import Campaign, CampaignLead
from console.services.outbound.campaign_wrapup import CampaignWrapUpRules, campaign_catalog
from console.services.outbound.campaigns import CampaignDisposition
from console.services.outbound.scripts import CampaignScript, ScriptFields, render
from console.services.text import clean_text

#: The campaign and list entry of a call, as one query in the pop's hop.
CAMPAIGN_LEAD = (
    select(
        CampaignLead.customer_id,
        CampaignLead.e164,
        Campaign.id,
        Campaign.name,
        Campaign.purpose,
        Campaign.script,
        Campaign.rules,
    )
    .join(Campaign, Campaign.id == CampaignLead.campaign_id)
    .where(CampaignLead.id == bindparam("lead"), CampaignLead.campaign_id == bindparam("cid"))
)


@dataclass(frozen=True, slots=True)
class CampaignCall:
    """The campaign side of a popped call."""

    campaign_id: int
    lead_id: int
    customer_id: int
    e164: str  # the number dialled (the customer's leg shows the campaign's own caller ID)
    name: str
    purpose: str
    script: CampaignScript
    dispositions: tuple[CampaignDisposition, ...]
    problem: str = ""  # why the stored script or dispositions could not be read

    def fields(
        self,
        *,
        name: str,
        kind: str,
        tier: str,
        language: str,
        lifetime_value: str,
        agent: str,
    ) -> ScriptFields:
        """The script's fields for this customer and agent."""
        first = name.split()[0] if kind == "person" and name.split() else name
        return ScriptFields(
            name=name,
            first_name=first,
            tier=tier,
            language=language,
            lifetime_value=lifetime_value,
            agent=agent,
            campaign=self.name,
        )

    def wrap_up_rules(self) -> CampaignWrapUpRules | None:
        """What this call's wrap-up is checked against (None: the dispositions don't read)."""
        if self.problem or not self.dispositions:
            return None
        return CampaignWrapUpRules(
            self.campaign_id, campaign_catalog(self.dispositions), self.script, {}
        )

    def text(self, fields: ScriptFields) -> str:
        return render(self.script.text, fields)

    def closing(self, fields: ScriptFields) -> str:
        return render(self.script.closing, fields)


def campaign_call(row: tuple[Any, ...], lead_id: int) -> CampaignCall:
    """The campaign call from a `CAMPAIGN_LEAD` row. A stored script or disposition list
    that no longer reads (edited by hand) leaves the call with none, and says why."""
    customer_id, e164, campaign_id, name, purpose, script_json, rules = row
    problem = ""
    try:
        script = CampaignScript.model_validate_json(script_json or "{}")
    except ValidationError as exc:
        script, problem = CampaignScript(), f"script: {exc.errors()[0]['msg']}"
    raw_rules = json.loads(rules) if isinstance(rules, str) else (rules or {})
    try:
        dispositions = tuple(
            CampaignDisposition.model_validate(d) for d in raw_rules.get("dispositions", ())
        )
    except ValidationError as exc:
        dispositions, problem = (), f"dispositions: {exc.errors()[0]['msg']}"
    return CampaignCall(
        campaign_id=int(campaign_id),
        lead_id=lead_id,
        customer_id=int(customer_id),
        e164=str(e164),
        name=clean_text(name, single_line=True, max_length=120),
        purpose=str(purpose),
        script=script,
        dispositions=dispositions,
        problem=problem,
    )
