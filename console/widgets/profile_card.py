"""The caller and customer card: who is calling, before the agent answers."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.services.phones import NumberStatus, PhoneNumberResult
from console.services.screenpop import CustomerProfile, ScreenPop
from console.widgets.format import lifecycle_label, money, tier_badge


def caller_line(caller: PhoneNumberResult) -> Content:
    """The caller's number for display, with region and line type, or why there is none."""
    if caller.status is NumberStatus.VALID:
        details = ", ".join(part for part in (caller.region or "", caller.line_type) if part)
        return Content.assemble(
            ("☎ ", "$text-muted"),
            (caller.international, "bold"),
            (f"  {details}" if details else "", "$text-muted"),
        )
    if caller.status is NumberStatus.WITHHELD:
        return Content.assemble(("☎ ", "$text-muted"), ("Withheld number", "bold $text-warning"))
    return Content.assemble(
        ("☎ ", "$text-muted"),
        ("Unusable caller ID ", "bold $text-warning"),
        (f"“{caller.raw or '(empty)'}”", ""),
        (f" ({caller.reason})" if caller.reason else "", "$text-muted"),
    )


def profile_lines(profile: CustomerProfile) -> list[Content]:
    """The customer record, a line per fact, all text literal."""
    lines = [
        Content.assemble(tier_badge(profile.tier), " ", (profile.display_name, "bold")),
        Content.assemble(
            lifecycle_label(profile.lifecycle),
            (f" · {profile.language or '?'}", ""),
            (f" · LTV {money(profile.lifetime_value_cents, profile.currency)}", ""),
            (" · RFM {}{}{}".format(*profile.rfm), "$text-muted"),
        ),
    ]
    if profile.organisation_name:
        lines.append(Content.assemble(("org ", "$text-muted"), profile.organisation_name))
    if profile.account_owner:
        lines.append(Content.assemble(("owner ", "$text-muted"), profile.account_owner))
    if profile.tags:
        lines.append(Content.assemble(("tags ", "$text-muted"), ", ".join(profile.tags)))
    if profile.notes:
        notes = " ".join(profile.notes.split())
        short = notes if len(notes) <= 160 else notes[:159] + "…"
        lines.append(Content.assemble(("notes ", "$text-muted"), short))
    for point in profile.contact_points[:4]:
        kind = point.subtype or point.kind
        lines.append(Content.assemble((f"{kind} ", "$text-muted"), point.value))
    return lines


class ProfileCard(Static):
    """Shows a `ScreenPop`: the number, the chosen customer and why they matched."""

    # It fills its pane (fixed size), so a new pop is a repaint, never a layout pass: on the
    # hot path that saves tens of milliseconds. Long notes are cut to a few lines here; the
    # customer view shows them whole.
    DEFAULT_CSS = """
    ProfileCard { padding: 0 1; height: 1fr; width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        self.idle_text = "No call. Waiting for the next one…"
        super().__init__(Content(self.idle_text), id=id, markup=False)
        self.pop: ScreenPop | None = None

    def set_idle(self, text: str) -> None:
        """What the card says with no call (the agent's real state: ready, not ready…)."""
        if text != self.idle_text:
            self.idle_text = text
            if self.pop is None:
                self.update(Content(text), layout=False)

    def show_pop(self, pop: ScreenPop | None) -> None:
        """Render `pop` (None clears the card to its idle line)."""
        self.pop = pop
        if pop is None:
            self.update(Content(self.idle_text), layout=False)
            return
        lines = [caller_line(pop.caller)]
        if pop.profile is not None:
            lines += profile_lines(pop.profile)
            match = next((m for m in pop.matches if m.customer_id == pop.profile.id), None)
            if match is not None:
                lines.append(Content.styled(f"matched: {match.reason}", "italic $text-muted"))
            if pop.is_ambiguous:
                lines.append(
                    Content.styled(
                        f"{len(pop.matches)} customers share this number — p to pick",
                        "bold $text-warning",
                    )
                )
        elif pop.is_unknown:
            lines.append(Content.styled("Unknown caller", "bold"))
            lines.append(
                Content.styled("n: new customer with this number · a: attach to one", "$text-muted")
            )
        else:
            lines.append(Content.styled("Search for the caller: /", "$text-muted"))
        self.update(Content("\n").join(lines), layout=False)
