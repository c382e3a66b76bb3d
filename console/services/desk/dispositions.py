"""Wrap-up dispositions: what an agent says a contact came to, and what each one requires."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Disposition:
    """One wrap-up outcome. `requires_ticket`/`requires_followup` are checked at wrap-up;
    `opt_out`: the customer asked not to be called again, which the wrap-up records at once
    (their numbers on the internal do-not-call list, marketing consent withdrawn).

    A campaign call's dispositions are the campaign's (`campaign_catalog`), with what each
    means for the results and the list: `contact` (someone spoke with the agent),
    `right_party` (the customer the list meant), `sale` (the agent enters the amount),
    `survey_complete` (the survey's answers reach its end), `retry` (call the lead again,
    at the time the agent gives or per the attempt rules)."""

    code: str
    label: str
    requires_ticket: bool = False
    requires_followup: bool = False
    opt_out: bool = False
    contact: bool = False
    right_party: bool = False
    sale: bool = False
    survey_complete: bool = False
    retry: bool = False


@dataclass(frozen=True, slots=True)
class DispositionCatalog:
    """The dispositions agents may choose from, in display order."""

    dispositions: tuple[Disposition, ...]

    def __post_init__(self) -> None:
        codes = [d.code for d in self.dispositions]
        if len(set(codes)) != len(codes):
            raise ValueError("disposition codes must be unique")

    def __iter__(self) -> Iterator[Disposition]:
        return iter(self.dispositions)

    def __len__(self) -> int:
        return len(self.dispositions)

    def __contains__(self, code: object) -> bool:
        return any(d.code == code for d in self.dispositions)

    def get(self, code: str) -> Disposition | None:
        """The disposition with this code, or None."""
        return next((d for d in self.dispositions if d.code == code), None)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.dispositions)


DEFAULT_CATALOG = DispositionCatalog(
    (
        Disposition("resolved", "Resolved"),
        Disposition("info_given", "Information given"),
        Disposition("callback_scheduled", "Callback scheduled", requires_followup=True),
        Disposition("escalated", "Escalated", requires_ticket=True),
        Disposition("ticket_opened", "Ticket opened", requires_ticket=True),
        Disposition("transferred", "Transferred"),
        Disposition("no_action", "No action needed"),
        Disposition("wrong_number", "Wrong number"),
        Disposition("do_not_call", "Asked not to be called", opt_out=True),
    )
)
