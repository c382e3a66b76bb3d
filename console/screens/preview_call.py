"""Preview dialing on the agent's desk (``o``): the next lead of a running preview campaign on
the agent's queues — the customer, the number, the campaign and its script with the
customer's fields filled in — before any call. ``d`` (or Enter) dials it from the agent's
phone; ``l`` skips it for later (due again in an hour), ``w`` marks a wrong number (never
dialled again), ``x`` says the campaign is not for this customer; after a skip the next lead
shows. ``c`` moves to the agent's next preview campaign; Esc closes the preview, the lead
staying held for the agent until its hold lapses (`console.services.outbound.preview`).

Customer data is untrusted: names and the rendered script are `Content`, never markup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from console.screens.lifecycle import while_shown
from console.services.errors import ServiceError
from console.services.outbound.preview import PreviewDial, PreviewLead, PreviewService, SkipChoice
from console.widgets.format import money

SKIPS = {
    "l": (SkipChoice.LATER, "skipped for later"),
    "w": (SkipChoice.WRONG_NUMBER, "marked a wrong number"),
    "x": (SkipChoice.NOT_A_FIT, "marked not a fit"),
}


class PreviewCallScreen(ModalScreen[PreviewDial | None]):
    """See the module docstring; dismisses with the dial placed, or None."""

    DEFAULT_CSS = """
    PreviewCallScreen { align: center middle; }
    PreviewCallScreen #pv-box {
        width: 100%; max-width: 90; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    PreviewCallScreen #pv-title { height: 1; margin-bottom: 1; }
    PreviewCallScreen #pv-lead { height: auto; }
    PreviewCallScreen #pv-script { height: auto; margin-top: 1; }
    PreviewCallScreen #pv-status { height: auto; margin-top: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("d", "dial", "Dial"),
        Binding("enter", "dial", "Dial", show=False),
        Binding("l", "skip('l')", "Later"),
        Binding("w", "skip('w')", "Wrong number"),
        Binding("x", "skip('x')", "Not a fit"),
        Binding("c", "next_campaign", "Next campaign"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(
        self,
        previews: PreviewService,
        *,
        agent_id: int,
        agent_name: str,
        campaigns: Sequence[str],
        dial: Callable[[int], Awaitable[PreviewDial]],
        on_call: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__()
        self.on_call = on_call
        self.previews = previews
        self.agent_id = agent_id
        self.agent_name = agent_name
        self.campaigns = list(campaigns)
        self.campaign_index = 0
        self.dial = dial
        self.lead: PreviewLead | None = None
        self.loads = 0  # completed reads (tests wait on it)
        self.busy = False  # a dial or skip is on its way: keys wait for it

    @property
    def campaign(self) -> str:
        return self.campaigns[self.campaign_index]

    def compose(self) -> ComposeResult:
        with Vertical(id="pv-box"):
            yield Static("", id="pv-title", markup=False)
            yield Static("", id="pv-lead", markup=False)
            yield Static("", id="pv-script", markup=False)
            yield Static("", id="pv-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="preview", exit_on_error=False)
    @while_shown
    async def load(self, said: str = "") -> None:
        """Hold and show the campaign's next lead (the same one while it is held)."""
        self.lead = None
        self._show_title()
        try:
            lead = await self.previews.next_lead(self.agent_id, self.campaign)
        except ServiceError as exc:
            self._draw(None, str(exc))
            return
        except Exception as exc:  # the database away: one line; Esc still closes
            self._draw(None, f"not read: {' '.join(str(exc).split())[:120]}")
            return
        self.lead = lead
        self.loads += 1
        self._draw(lead, said)

    def _show_title(self) -> None:
        more = f"  ({self.campaign_index + 1} of {len(self.campaigns)}: c next)"
        self.query_one("#pv-title", Static).update(
            Content.assemble(
                ("Preview  ", "bold"),
                (self.campaign, "bold $accent"),
                (more if len(self.campaigns) > 1 else "", "$text-muted"),
            )
        )

    def _draw(self, lead: PreviewLead | None, said: str) -> None:
        card = self.query_one("#pv-lead", Static)
        script = self.query_one("#pv-script", Static)
        status = self.query_one("#pv-status", Static)
        if lead is None:
            card.update(Content.styled("No lead is due in this campaign now.", "bold"))
            script.update("")
            status.update(Content(said))
            return
        value = money(lead.lifetime_value_cents, lead.currency)
        card.update(
            Content.assemble(
                (lead.customer_name, "bold"),
                (f"  {lead.tier.upper()}", "bold $accent"),
                (f" · {lead.language} · LTV {value}\n", "$text-muted"),
                ("☎ ", ""),
                (lead.number, "bold"),
                (f"   held for you until {lead.held_until.astimezone():%H:%M}", "$text-muted"),
            )
        )
        fields = lead.call.fields(
            name=lead.customer_name,
            kind=lead.kind,
            tier=lead.tier,
            language=lead.language,
            lifetime_value=value,
            agent=self.agent_name,
        )
        text = lead.call.text(fields)
        script.update(Content.styled(text, "italic") if text else Content(""))
        status.update(Content(said or "d dial · l later · w wrong number · x not a fit"))

    # ---------------------------------------------------------------- actions

    async def action_dial(self) -> None:
        lead = self.lead
        if lead is None or self.busy:
            return
        if self.on_call():  # the phone rings or talks: a dial would ring it again
            self._status("Not dialled: you are on a call")
            return
        self.busy = True
        try:
            placed = await self.dial(lead.lead_id)
        except ServiceError as exc:
            self._status(str(exc))
            self.load(str(exc))  # a lead the last screen refused is gone: show the next
            return
        except Exception as exc:  # the database away: one line, nothing dialled
            self._status(f"not dialled: {' '.join(str(exc).split())[:120]}")
            return
        finally:
            self.busy = False
        self.dismiss(placed)

    async def action_skip(self, key: str) -> None:
        lead = self.lead
        if lead is None or self.busy:
            return
        choice, said = SKIPS[key]
        self.busy = True
        try:
            await self.previews.skip(self.agent_id, lead.lead_id, choice)
        except ServiceError as exc:
            self._status(str(exc))
            return
        except Exception as exc:
            self._status(f"not skipped: {' '.join(str(exc).split())[:120]}")
            return
        finally:
            self.busy = False
        self.load(f"{lead.customer_name}: {said}")

    def action_next_campaign(self) -> None:
        if len(self.campaigns) > 1:
            self.campaign_index = (self.campaign_index + 1) % len(self.campaigns)
            self.load()

    def action_close(self) -> None:
        self.dismiss(None)

    def step_aside(self) -> None:
        """A call rings for the agent: the preview closes (its lead stays held for them, so
        ``o`` after the call shows it again) and says why. Not while dialling: that ring is
        this preview's own call, and the dial answers it."""
        if self.busy:
            return
        self.notify("Preview closed: a call is ringing (o shows the lead again)", markup=False)
        self.dismiss(None)

    def _status(self, text: str) -> None:
        self.query_one("#pv-status", Static).update(Content.styled(text, "$text-warning"))
