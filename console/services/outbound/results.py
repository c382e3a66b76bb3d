"""Campaign results: dials, connects, contacts, right-party contacts, conversions and revenue,
per campaign, agent or hour (docs/metrics.md, "Campaign results": one definition for the
`report --by campaign…` command, `campaign report` and the supervisor's campaign board).

The raw rows are the campaign's dials (`dial_attempts`): a dial belongs to the period, hour,
campaign and agent of its own row (placed when, by which campaign, taken by which agent: a dial
no agent took has none). What a connected dial came to is its wrap-up's disposition, written
on the dial when the wrap-up settled its lead (`leads`), read with the campaign's meaning of
that code (`Disposition.contact` / `right_party` / `sale` / `survey_complete`); its revenue
is the sale recorded with it (`sales.dial_attempt_id`).

- dialled: dials placed (the ones that never reached the network — refused by the PBX, not
  sent, the previewing agent's own phone away — are not attempts and are left out);
- connected: dials an agent took; wrapped: connected dials with a disposition;
- contacts, right-party contacts, conversions (sales), surveys completed: wrapped dials whose
  disposition means so;
- revenue: the sales of the row's dials, per currency (never added across currencies).

Rates (None when the denominator is 0): contact rate = contacts / dialled; right-party-contact
rate = right-party contacts / dialled; conversion rate = conversions / right-party contacts.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from console.models import Agent, Campaign, DialAttempt, Sale
from console.services.desk.dispositions import Disposition
from console.services.outbound.campaign_wrapup import CampaignWrapUpError, wrap_up_rules
from console.services.service import DbService
from console.services.text import clean_text

#: Dial outcomes that placed nothing (the dialer's dial_events.NOT_PLACED): not attempts.
NOT_PLACED = frozenset({"refused", "not_sent", "agent"})
NO_AGENT = "(no agent)"
TOTAL = "(total)"


class ResultsBy(StrEnum):
    """What one results row stands for."""

    CAMPAIGN = "campaign"
    AGENT = "agent"
    HOUR = "hour"


@dataclass(frozen=True, slots=True)
class DialRow:
    """One dial as the results read it."""

    campaign_id: int
    campaign: str
    placed_at: datetime
    agent: str  # "" : no agent took it
    outcome: str
    connected: bool
    disposition: str
    sale_cents: int = 0
    currency: str = ""


@dataclass
class ResultCounts:
    """The counters of one row (see the module docstring)."""

    dialled: int = 0
    connected: int = 0
    wrapped: int = 0
    contacts: int = 0
    right_party: int = 0
    conversions: int = 0
    surveys: int = 0
    revenue: dict[str, int] = field(default_factory=dict)  # currency -> cents

    def add(self, dial: DialRow, meaning: Disposition | None) -> None:
        """Count one dial; ``meaning``: its disposition's flags (None: none, or unknown)."""
        if dial.outcome in NOT_PLACED:
            return
        self.dialled += 1
        self.connected += dial.connected
        if dial.disposition:
            self.wrapped += 1
        if meaning is not None:
            self.contacts += meaning.contact
            self.right_party += meaning.right_party
            self.conversions += meaning.sale
            self.surveys += meaning.survey_complete
        if dial.sale_cents:
            self.revenue[dial.currency] = self.revenue.get(dial.currency, 0) + dial.sale_cents

    @property
    def contact_rate(self) -> float | None:
        return _ratio(self.contacts, self.dialled)

    @property
    def right_party_rate(self) -> float | None:
        return _ratio(self.right_party, self.dialled)

    @property
    def conversion_rate(self) -> float | None:
        return _ratio(self.conversions, self.right_party)


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


@dataclass(frozen=True, slots=True)
class ResultRow:
    key: str
    counts: ResultCounts


@dataclass(frozen=True, slots=True)
class ResultsReport:
    """Rows of one grouping over one period (None: the campaigns' whole lives)."""

    by: ResultsBy
    start: datetime | None
    end: datetime | None
    zone: str
    rows: tuple[ResultRow, ...]
    total: ResultRow

    def describe(self) -> str:
        fmt = "%Y-%m-%d %H:%M"
        period = (
            "all dials"
            if self.start is None or self.end is None
            else f"{self.start:{fmt}} → {self.end:{fmt}}"
        )
        return f"Campaign results {period} by {self.by.value}, {self.zone}; dials count when placed"


Meanings = Mapping[tuple[int, str], Disposition]


def hour_key(when: datetime, tz: Any) -> str:
    """A dial's hour as rows name it: ``2026-11-02 15:00`` in ``tz`` (None: local time)."""
    return f"{when.astimezone(tz):%Y-%m-%d %H}:00"


def tally(
    dials: Iterable[DialRow], meanings: Meanings, key_of: Callable[[DialRow], str]
) -> tuple[dict[str, ResultCounts], ResultCounts]:
    """Every dial counted in its row and in the total."""
    rows: dict[str, ResultCounts] = defaultdict(ResultCounts)
    total = ResultCounts()
    for dial in dials:
        if dial.outcome in NOT_PLACED:  # not an attempt: no row of its own either
            continue
        meaning = meanings.get((dial.campaign_id, dial.disposition))
        rows[key_of(dial)].add(dial, meaning)
        total.add(dial, meaning)
    return dict(rows), total


def meanings_of(campaigns: Iterable[tuple[int, Any, Any]]) -> dict[tuple[int, str], Disposition]:
    """(campaign id, code) → the disposition, from campaign rows (id, rules, script); a
    campaign whose dispositions no longer read means nothing (its dials count as dialled)."""
    out = {}
    for campaign_id, rules, script in campaigns:
        try:
            catalog = wrap_up_rules(int(campaign_id), rules, script).catalog
        except CampaignWrapUpError:
            continue
        out.update({(int(campaign_id), d.code): d for d in catalog})
    return out


class CampaignResults(DbService):
    """Reads the dials of a period (or of one campaign's life) and groups them."""

    async def dials(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        campaign_id: int | None = None,
    ) -> tuple[list[DialRow], dict[tuple[int, str], Disposition]]:
        """The dials placed in [start, end) (of ``campaign_id`` only, if given), and what
        their campaigns' dispositions mean."""
        query = (
            select(
                DialAttempt.campaign_id,
                Campaign.name,
                DialAttempt.placed_at,
                Agent.display_name,
                DialAttempt.outcome,
                DialAttempt.connected_at,
                DialAttempt.disposition,
                Sale.amount_cents,
                Sale.currency,
            )
            .join(Campaign, Campaign.id == DialAttempt.campaign_id)
            .outerjoin(Agent, Agent.id == DialAttempt.agent_id)
            .outerjoin(Sale, Sale.dial_attempt_id == DialAttempt.id)
        )
        campaigns = select(Campaign.id, Campaign.rules, Campaign.script)
        if start is not None:
            query = query.where(DialAttempt.placed_at >= start)
        if end is not None:
            query = query.where(DialAttempt.placed_at < end)
        if campaign_id is not None:
            query = query.where(DialAttempt.campaign_id == campaign_id)
            campaigns = campaigns.where(Campaign.id == campaign_id)
        async with self._db.session() as session:
            rows = (await session.execute(query)).all()
            defined = (await session.execute(campaigns)).all()
        dials = [
            DialRow(
                campaign_id=int(cid),
                campaign=clean_text(name or "", single_line=True, max_length=120),
                placed_at=placed,
                agent=clean_text(agent or "", single_line=True, max_length=80),
                outcome=outcome or "",
                connected=connected is not None,
                disposition=disposition or "",
                sale_cents=int(cents or 0),
                currency=currency or "",
            )
            for cid, name, placed, agent, outcome, connected, disposition, cents, currency in rows
        ]
        return dials, meanings_of(defined)

    async def report(
        self,
        by: ResultsBy,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        campaign_id: int | None = None,
        tz: Any = None,
    ) -> ResultsReport:
        """Rows ``by`` campaign (by name), agent (by name; "(no agent)" for dials no agent
        took) or hour (local, in ``tz``; None: this machine's zone), in order, and the total."""
        dials, meanings = await self.dials(start, end, campaign_id=campaign_id)
        key_of: Callable[[DialRow], str] = {
            ResultsBy.CAMPAIGN: lambda d: d.campaign,
            ResultsBy.AGENT: lambda d: d.agent or NO_AGENT,
            ResultsBy.HOUR: lambda d: hour_key(d.placed_at, tz),
        }[by]
        rows, total = tally(dials, meanings, key_of)
        order = sorted(rows, key=lambda k: (k == NO_AGENT, k.casefold(), k))
        zone = getattr(tz, "key", None) or ("UTC" if tz is UTC else "local time")
        return ResultsReport(
            by=by,
            start=start,
            end=end,
            zone=zone,
            rows=tuple(ResultRow(k, rows[k]) for k in order),
            total=ResultRow(TOTAL, total),
        )


# --------------------------------------------------------------------------- output

#: (column, kind, value) for CSV and JSON; kinds: n count, r ratio 0..1.
_FIELDS: tuple[tuple[str, str, Callable[[ResultCounts], float | int | None]], ...] = (
    ("dialled", "n", lambda c: c.dialled),
    ("connected", "n", lambda c: c.connected),
    ("wrapped", "n", lambda c: c.wrapped),
    ("contacts", "n", lambda c: c.contacts),
    ("right_party", "n", lambda c: c.right_party),
    ("conversions", "n", lambda c: c.conversions),
    ("surveys_completed", "n", lambda c: c.surveys),
    ("contact_rate", "r", lambda c: c.contact_rate),
    ("right_party_rate", "r", lambda c: c.right_party_rate),
    ("conversion_rate", "r", lambda c: c.conversion_rate),
)


def row_values(counts: ResultCounts) -> dict[str, Any]:
    """A row's figures by column (ratios 0..1 to 4 places; revenue in cents per currency)."""
    out: dict[str, Any] = {}
    for name, kind, get in _FIELDS:
        value = get(counts)
        out[name] = round(value, 4) if kind == "r" and value is not None else value
    out["revenue_cents"] = dict(sorted(counts.revenue.items()))
    return out


def revenue_text(revenue: Mapping[str, int]) -> str:
    """``USD 1,234.50 + EUR 12.00`` (— when none)."""
    if not revenue:
        return "—"
    return " + ".join(
        f"{cur or '?'} {cents // 100:,}.{cents % 100:02d}" for cur, cents in sorted(revenue.items())
    )


def to_csv(report: ResultsReport) -> str:
    """One header line, one line per row and the total; revenue as ``CUR cents`` pairs."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([report.by.value, *(name for name, _, _ in _FIELDS), "revenue"])
    for row in (*report.rows, report.total):
        key = row.key
        if key[:1] in ("=", "+", "-", "@"):  # a spreadsheet would run it as a formula
            key = "'" + key
        values = row_values(row.counts)
        revenue = values.pop("revenue_cents")
        writer.writerow(
            [
                key,
                *("" if v is None else v for v in values.values()),
                " ".join(f"{c} {n}" for c, n in revenue.items()),
            ]
        )
    return out.getvalue()


def to_json(report: ResultsReport) -> str:
    doc = {
        "from": None if report.start is None else report.start.isoformat(),
        "to": None if report.end is None else report.end.isoformat(),
        "zone": report.zone,
        "group_by": report.by.value,
        "rows": [{"key": r.key, **row_values(r.counts)} for r in report.rows],
        "total": row_values(report.total.counts),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


#: (header, cell) of the terminal table.
DISPLAY_COLUMNS: tuple[tuple[str, Callable[[ResultCounts], str]], ...] = (
    ("Dialled", lambda c: str(c.dialled)),
    ("Connected", lambda c: str(c.connected)),
    ("Contacts", lambda c: str(c.contacts)),
    ("RPC", lambda c: str(c.right_party)),
    ("Conv.", lambda c: str(c.conversions)),
    ("Contact %", lambda c: percent(c.contact_rate)),
    ("RPC %", lambda c: percent(c.right_party_rate)),
    ("Conv. %", lambda c: percent(c.conversion_rate)),
    ("Revenue", lambda c: revenue_text(c.revenue)),
)
DEFINITIONS = (
    "contact % = contacts / dialled · RPC % = right-party contacts / dialled · "
    "conv. % = conversions / right-party contacts · revenue = sales of the dials, per currency"
)
