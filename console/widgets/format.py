"""Display helpers shared by the widgets: durations, money, times, tier badges.

Everything returns `Content` built from plain strings: untrusted text is never parsed as markup.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from textual.content import Content

TIER_STYLES = {
    "platinum": "bold $text-accent",
    "gold": "bold $text-warning",
    "iron": "$text",
    "lead": "$text-muted",
}
LIFECYCLE_STYLES = {
    "declining": "$text-warning",
    "churned": "$text-error",
    "new": "$text-success",
}
CURRENCY_SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "CNY": "¥"}


def duration(seconds: float | None) -> str:
    """`75` → `1:15`, `3725` → `1:02:05`; None → `–`."""
    if seconds is None:
        return "–"
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def sla_remaining(seconds: int | None) -> tuple[str, str]:
    """Time to an SLA deadline and its level: `error` overdue, `warning` under 4 h, `success`."""
    if seconds is None:
        return "no SLA", ""
    if seconds < 0:
        return f"overdue {_span(-seconds)}", "error"
    return f"{_span(seconds)} left", "warning" if seconds < 4 * 3600 else "success"


# Rich styles for the levels, for DataTable cells (which render Rich `Text`).
LEVEL_STYLES = {"error": "bold red", "warning": "yellow", "success": "green", "": ""}
# The same levels as Content styles, for `Content` and `Static` lines.
LEVEL_CONTENT_STYLES = {
    "error": "bold $text-error",
    "warning": "$text-warning",
    "success": "$text-success",
    "": "",
}
# Within this of now a due time is said relatively ("in 25m", "35m ago"); further, by the clock.
RELATIVE_DUE_SECONDS = 12 * 3600


def due_text(due_at: datetime, now: datetime, tz: tzinfo | None = None) -> str:
    """When a follow-up is due, in the same words on every screen that shows one.

    - within a minute of ``now`` either way: ``now``;
    - due within the next 12 hours: ``in 25m``, ``in 2h10m``;
    - due up to 12 hours ago: ``35m ago``, ``2h10m ago``;
    - further either way, the local clock (``tz``; None: the system's zone): ``Tue 14:00``
      within six days, else the date, ``2026-11-21``.

    Near now the agent plans in minutes; further off, a day and a time is easier to plan with
    than "in 3d4h". Whether the follow-up is *overdue* is not said here: that is
    `console.services.routing.followups.is_overdue` (its SLA), and `due_level` colours the text by
    it.
    At most 10 characters.
    """
    seconds = int((due_at - now).total_seconds())
    if -60 < seconds < 60:
        return "now"
    if 0 < seconds < RELATIVE_DUE_SECONDS:
        return f"in {_span(seconds)}"
    if 0 < -seconds < RELATIVE_DUE_SECONDS:
        return f"{_span(-seconds)} ago"
    local, local_now = due_at.astimezone(tz), now.astimezone(tz)
    if abs((local.date() - local_now.date()).days) < 7:
        return local.strftime("%a %H:%M")
    return local.strftime("%Y-%m-%d")


def due_level(due_at: datetime, now: datetime, *, overdue: bool) -> str:
    """The level a due time is shown at: ``error`` overdue (past its SLA, by
    `console.services.routing.followups.is_overdue`), ``warning`` due (its time has come), else
    ""."""
    if overdue:
        return "error"
    return "warning" if due_at <= now else ""


def elapsed(seconds: float) -> str:
    """Time spent in a state, coarse on purpose: `<1m`, `12m`, `1h05m`."""
    whole = max(0, int(seconds))
    return "<1m" if whole < 60 else _span(whole)


def _span(seconds: int) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds // 86400}d"
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m"


def money(cents: int, currency: str) -> str:
    """`123456, "USD"` → `$1,234`; unknown currencies keep their code."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    amount = f"{cents // 100:,}"
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"


def when(at: datetime, now: datetime) -> str:
    """A compact timestamp: time today, `Mon 14:05` this week, else the date."""
    local_now = now.astimezone(UTC)
    local = at.astimezone(UTC)
    if local.date() == local_now.date():
        return local.strftime("%H:%M")
    if 0 <= (local_now - local).days < 7:
        return local.strftime("%a %H:%M")
    return local.strftime("%Y-%m-%d")


def tier_badge(tier: str) -> Content:
    """The customer-pyramid tier as a coloured badge."""
    return Content.styled(f" {tier.upper()} ", f"reverse {TIER_STYLES.get(tier, '$text')}")


def lifecycle_style(stage: str) -> str:
    """The style of a lifecycle stage (warning colours for declining and churned)."""
    return LIFECYCLE_STYLES.get(stage, "$text")


def lifecycle_label(stage: str) -> Content:
    return Content.styled(stage, lifecycle_style(stage))


def clip(text: str, width: int) -> str:
    """`text` cut to `width` characters with an ellipsis (names can be 200 characters long)."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
