"""The call bar's line (console/widgets/call_bar.py render_bar, a pure function)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console.widgets.call_bar import CallBarModel, render_bar

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def line(**fields: object) -> str:
    model = CallBarModel(phase_since=NOW - timedelta(seconds=5), **fields)  # type: ignore[arg-type]
    return render_bar(model, NOW).plain


def test_a_callback_being_dialled_does_not_look_like_an_inbound_ring() -> None:
    inbound = line(phase="ringing")
    outbound = line(phase="ringing", direction="outbound")
    assert inbound.startswith(" RINGING ")
    assert outbound.startswith(" DIALLING ↗ callback ")
    assert "RINGING" not in outbound
    assert line(phase="talking", direction="outbound").startswith(" ↗ Callback · Talking ")
    assert line(phase="idle", direction="outbound").startswith(" Idle ")
