"""The caller and customer card: who is calling, before the agent answers."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.services.crm.phones import NumberStatus, PhoneNumberResult
from console.services.desk.screenpop import CustomerProfile, ScreenPop
from console.widgets.format import lifecycle_style, money, tier_badge


def caller_line(caller: PhoneNumberResult, width: int = 0) -> list[Content]:
    """The caller's number for display, with region and line type, or why there is none.

    The number keeps a line of its own: region and line type follow it on the same line only
    when both fit in `width` cells (0: any width), else on the next.
    """
    if caller.status is NumberStatus.VALID:
        number = Content.assemble(("☎ ", "$text-muted"), (caller.international, "bold"))
        details = ", ".join(part for part in (caller.region or "", caller.line_type) if part)
        if not details:
            return [number]
        after = Content.styled(f"  {details}", "$text-muted")
        if not width or number.cell_length + after.cell_length <= width:
            return [number + after]
        return [number, after]
    if caller.status is NumberStatus.WITHHELD:
        return [Content.assemble(("☎ ", "$text-muted"), ("Withheld number", "bold $text-warning"))]
    return [
        Content.assemble(
            ("☎ ", "$text-muted"),
            ("Unusable caller ID ", "bold $text-warning"),
            (f"“{caller.raw or '(empty)'}”", ""),
            (f" ({caller.reason})" if caller.reason else "", "$text-muted"),
        )
    ]


def packed(parts: list[tuple[str, str]], width: int, separator: str = " · ") -> list[Content]:
    """(text, style) `parts` joined by `separator` (styled as the part after it) into as few
    lines of `width` cells as hold them, a part never split across lines (0: one line)."""
    lines: list[Content] = []
    for text, style in parts:
        joined = Content.styled(separator + text, style)
        if lines and (not width or lines[-1].cell_length + joined.cell_length <= width):
            lines[-1] = lines[-1] + joined
        else:
            lines.append(Content.styled(text, style))
    return lines


def profile_lines(profile: CustomerProfile, width: int = 0) -> list[Content]:
    """The customer record, a line per fact, all text literal.

    The tier and the name share a line when it holds them both in `width` cells (0: any
    width); otherwise each has its own, so neither runs into the other or into the next fact.
    """
    badge = tier_badge(profile.tier)
    name = Content.styled(profile.display_name, "bold")
    if not width or badge.cell_length + 1 + name.cell_length <= width:
        lines = [Content.assemble(badge, " ", name)]
    else:
        lines = [badge, name]
    lines += packed(
        [
            (profile.lifecycle, lifecycle_style(profile.lifecycle)),
            (profile.language or "?", ""),
            (f"LTV {money(profile.lifetime_value_cents, profile.currency)}", ""),
            ("RFM {}{}{}".format(*profile.rfm), "$text-muted"),
        ],
        width,
    )
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


def campaign_lines(pop: ScreenPop, agent_name: str) -> list[Content]:
    """A campaign call's header and script (the customer's fields filled in as plain text);
    nothing for any other call."""
    campaign = pop.campaign
    if campaign is None:
        return []
    lines = [
        Content.assemble(
            ("✆ Campaign ", "bold $accent"),
            (campaign.name, "bold"),
            (f" · {campaign.purpose}", "$text-muted"),
        )
    ]
    profile = pop.profile
    fields = campaign.fields(
        name=profile.display_name if profile else "",
        kind=profile.kind if profile else "person",
        tier=profile.tier if profile else "",
        language=profile.language if profile else "",
        lifetime_value=money(profile.lifetime_value_cents, profile.currency) if profile else "",
        agent=agent_name,
    )
    text = campaign.text(fields)
    if text:
        lines.append(Content.styled(text, "italic"))
    if campaign.script.questions:
        count = len(campaign.script.questions)
        lines.append(Content.styled(f"survey: {count} questions — v to ask them", "$text-muted"))
    if campaign.problem:
        lines.append(Content.styled(f"campaign {campaign.problem}", "$text-warning"))
    lines.append(Content(""))
    return lines


class ProfileCard(Static):
    """Shows a `ScreenPop`: the number, the chosen customer and why they matched."""

    # It fills its pane (fixed size), so a new pop is a repaint, never a layout pass: on the
    # hot path that saves tens of milliseconds. Long notes are cut to a few lines here; the
    # customer view shows them whole.
    DEFAULT_CSS = """
    ProfileCard { padding: 0 1; height: 1fr; width: 1fr; }
    """

    def __init__(self, *, id: str | None = None, agent_name: str = "") -> None:
        self.idle_text = "No call. Waiting for the next one…"
        super().__init__(Content(self.idle_text), id=id, markup=False)
        self.pop: ScreenPop | None = None
        self.agent_name = agent_name  # the script's {agent}

    def set_idle(self, text: str) -> None:
        """What the card says with no call (the agent's real state: ready, not ready…)."""
        if text != self.idle_text:
            self.idle_text = text
            if self.pop is None:
                self.update(Content(text), layout=False)

    def on_resize(self) -> None:
        if self.pop is not None:
            self.show_pop(self.pop)  # the lines are laid out for the card's width

    def show_pop(self, pop: ScreenPop | None) -> None:
        """Render `pop` (None clears the card to its idle line)."""
        self.pop = pop
        if pop is None:
            self.update(Content(self.idle_text), layout=False)
            return
        width = self.content_size.width  # 0 before the first layout: lines as long as they go
        lines = campaign_lines(pop, self.agent_name)
        lines += caller_line(pop.caller, width)
        if pop.profile is not None:
            lines += profile_lines(pop.profile, width)
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
        elif pop.unavailable:
            lines.append(Content.styled("Customer record unavailable", "bold $text-warning"))
            lines.append(Content.styled(f"the database is away: {pop.unavailable}", "$text-muted"))
        elif pop.is_unknown:
            lines.append(Content.styled("Unknown caller", "bold"))
            keys = [
                ("n: new customer with this number", "$text-muted"),
                ("a: attach to one", "$text-muted"),
            ]
            lines += packed(keys, width)
        else:
            lines.append(Content.styled("Search for the caller: /", "$text-muted"))
        self.update(Content("\n").join(lines), layout=False)
