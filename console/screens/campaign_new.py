"""The supervisor's campaign builder: a segment's criteria on the left, who it selects on the
right (the count and the first customers, redrawn as the criteria change), the campaign's
settings below the criteria. ctrl+s creates the campaign as a draft, ctrl+r creates and
starts it; Esc goes back without writing anything. Reached from the campaign board with ``n``.

Every field is typed: lists are comma-separated (``gold, platinum``), days and values are
whole numbers. A refused field is named in the error line and nothing is written. The
services (`console.services.outbound.campaign_desk`) do every check a campaign file gets.

Customer names and numbers in the preview are `Text`, never markup.
"""

from __future__ import annotations

from typing import Any, Protocol

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Select, Static, TextArea

from console.models.enums import CampaignPurpose, ConsentPurpose, DialMode, Lifecycle, Tier
from console.screens.lifecycle import while_shown
from console.services.errors import ServiceError
from console.services.outbound.campaign_desk import (
    STARTING_SCRIPTS,
    NewCampaign,
    SurveySource,
    parse_criteria,
)
from console.services.outbound.segments import SavedSegment, SegmentCriteria, SegmentMember
from console.services.training.training import TraineeJoin
from console.widgets.command import ShellCommand
from console.widgets.forms import ErrorLine, FieldRow

#: How long typing must pause before the count is read again.
RECOUNT_AFTER = 0.4
PREVIEW_ROWS = 20


class DeskSource(Protocol):
    """What the builder reads and writes through (`CampaignDesk` is one)."""

    async def saved_segments(self) -> Any: ...
    async def count(self, criteria: SegmentCriteria) -> int: ...
    async def preview(self, criteria: SegmentCriteria, limit: int = 20) -> list[SegmentMember]: ...
    async def queues(self) -> list[str]: ...
    async def survey_sources(self) -> list[SurveySource]: ...
    async def create(self, spec: NewCampaign, *, start: bool = False) -> tuple[int, int | None]: ...


# Criteria fields: (input id, label, placeholder, criteria key, kind).
_LIST_FIELDS = (
    ("seg-tiers", "Tiers", ", ".join(t.value for t in Tier), "tiers"),
    ("seg-lifecycles", "Lifecycle", ", ".join(s.value for s in Lifecycle), "lifecycles"),
    ("seg-countries", "Countries", "ISO codes, e.g. US, GB", "countries"),
    ("seg-languages", "Languages", "e.g. en, zh", "languages"),
    ("seg-tags", "Tags (any)", "e.g. vip, billing", "tags_any"),
)
_NUMBER_FIELDS = (
    ("seg-quiet", "No contact", "days without a contact, e.g. 90", "no_contact_days"),
    ("seg-recent", "Contact in", "days: contacted within", "contact_within_days"),
    ("seg-ltv", "Min value", "lifetime value at least", "min_lifetime_value"),
)
_RFM_FIELDS = (
    ("seg-r", "R 1-5", "recency_min"),
    ("seg-f", "F 1-5", "frequency_min"),
    ("seg-m", "M 1-5", "monetary_min"),
)


#: The criteria the form has fields for (the rest of a saved segment's are kept as they are).
FORM_KEYS = frozenset(
    [k for *_, k in _LIST_FIELDS]
    + [k for *_, k in _NUMBER_FIELDS]
    + [k for *_, k in _RFM_FIELDS]
    + ["open_tickets"]
)
INLINE_PREFIX = "campaign: "  # CampaignService's name for a campaign's own inline segment


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.replace(";", ",").split(",") if w.strip()]


class CampaignBuilderScreen(Screen[str | None]):
    """See the module docstring; dismisses with the new campaign's name, or None."""

    CSS_PATH = "campaign_board.tcss"
    BINDINGS = [
        Binding("ctrl+s", "create(False)", "Create", priority=True),
        Binding("ctrl+r", "create(True)", "Create and start", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, source: DeskSource, *, join: TraineeJoin | None = None) -> None:
        super().__init__()
        self.source = source
        self.join = join
        self.segments: list[SavedSegment] = []
        self.criteria: SegmentCriteria | None = SegmentCriteria()
        self.base = SegmentCriteria()  # the saved segment the form started from
        self.counted: int | None = None  # the last count shown (tests wait on it)
        self.counts = 0  # completed counts
        self.script_edited = False
        self._recount: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("New campaign", "bold"), id="nc-title", markup=False)
        with Horizontal(id="nc-body"):
            with VerticalScroll(id="nc-form"):
                yield Static(Content.styled("Who — the segment", "bold"), classes="nc-head")
                yield FieldRow(
                    "Start from",
                    Select[str]([], prompt="new criteria", compact=True, id="seg-saved"),
                )
                for field_id, label, hint, _key in _LIST_FIELDS:
                    yield FieldRow(label, Input(placeholder=hint, compact=True, id=field_id))
                for field_id, label, hint, _key in _NUMBER_FIELDS:
                    yield FieldRow(
                        label, Input(placeholder=hint, type="integer", compact=True, id=field_id)
                    )
                yield FieldRow(
                    "RFM at least",
                    Horizontal(
                        *(
                            Input(placeholder=hint, type="integer", max_length=1, compact=True,
                                  id=field_id)
                            for field_id, hint, _key in _RFM_FIELDS
                        ),
                        id="seg-rfm",
                    ),
                )  # fmt: skip
                yield FieldRow(
                    "Consent",
                    Select(
                        [(p.value.replace("_", " "), p.value) for p in ConsentPurpose],
                        prompt="not required",
                        compact=True,
                        id="seg-consent",
                    ),
                )
                yield FieldRow(
                    "Open tickets",
                    Select(
                        [("has open tickets", "any"), ("no open tickets", "none")],
                        prompt="either",
                        compact=True,
                        id="seg-tickets",
                    ),
                )
                yield FieldRow(
                    "Save as",
                    Input(placeholder="segment name (optional)", compact=True, id="seg-name"),
                )
                yield Static(Content.styled("The campaign", "bold"), classes="nc-head")
                yield FieldRow("Name", Input(max_length=120, compact=True, id="nc-name"))
                yield FieldRow(
                    "Purpose",
                    Select(
                        [(p.value, p.value) for p in CampaignPurpose],
                        value=CampaignPurpose.SALES.value,
                        allow_blank=False,
                        compact=True,
                        id="nc-purpose",
                    ),
                )
                yield FieldRow(
                    "Mode",
                    Select(
                        [(m.value, m.value) for m in DialMode],
                        value=DialMode.PREDICTIVE.value,
                        allow_blank=False,
                        compact=True,
                        id="nc-mode",
                    ),
                )
                yield FieldRow("Queue", Select[str]([], compact=True, id="nc-queue"))
                yield FieldRow(
                    "Caller ID",
                    Input(placeholder="the number customers see", compact=True, id="nc-cid"),
                )
                yield FieldRow(
                    "Script",
                    TextArea(
                        STARTING_SCRIPTS[CampaignPurpose.SALES],
                        soft_wrap=True,
                        show_line_numbers=False,
                        compact=True,
                        id="nc-script",
                    ),
                )
                yield FieldRow(
                    "Survey",
                    Select[str]([], prompt="no questions", compact=True, id="nc-survey"),
                )
                yield ErrorLine(id="nc-error")
            with Vertical(id="nc-preview"):
                yield Static("", id="nc-count", markup=False)
                yield DataTable(id="nc-table", cursor_type="row", zebra_stripes=True)
                if self.join is not None:  # the demo: where the agents come from
                    yield Static(Content(self.join.before), classes="nc-join", markup=False)
                    yield ShellCommand(self.join.argv, id="nc-join-command")
                    yield Static(Content(self.join.after), classes="nc-join", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#nc-table", DataTable)
        for header in ("Customer", "Tier", "Lang", "Number", "Country"):
            table.add_column(header, key=header)
        self.query_one("#seg-tiers", Input).focus()
        self.load_choices()
        self.recount()

    @work(exclusive=True, group="campaign-choices", exit_on_error=False)
    @while_shown
    async def load_choices(self) -> None:
        """Fill the saved segments, queues and survey sources."""
        try:
            self.segments = list(await self.source.saved_segments())
            queues = await self.source.queues()
            surveys = await self.source.survey_sources()
        except Exception as exc:  # the database away: one line; the form still types
            self.show_error(f"not read: {' '.join(str(exc).split())[:120]}")
            return
        # Names are the CRM's and the PBX's: Text, never markup. A campaign's own inline
        # segment ("campaign: X") is not offered: building on it would rewrite X's audience.
        self.segments = [s for s in self.segments if not s.name.startswith(INLINE_PREFIX)]
        self.query_one("#seg-saved", Select).set_options(
            (Text(s.name), s.name) for s in self.segments
        )
        queue = self.query_one("#nc-queue", Select)
        queue.set_options((Text(q), q) for q in queues)
        if queues:
            queue.value = queues[0]
        self.query_one("#nc-survey", Select).set_options(
            (Text(f"{s.name} ({s.questions} questions)"), s.name) for s in surveys
        )

    # ---------------------------------------------------------------- criteria

    def read_criteria(self) -> SegmentCriteria:
        """The criteria the fields say, over what the saved segment started from holds that
        the form has no field for (RFM maxima, all-of tags, more consents): kept, never
        dropped; `ServiceError` naming the first bad field."""
        data: dict[str, Any] = {
            k: v for k, v in self.base.as_json().items() if k not in FORM_KEYS | {"consent"}
        }
        for field_id, _label, _hint, key in _LIST_FIELDS:
            words = _words(self.query_one(f"#{field_id}", Input).value)
            if words:
                data[key] = words
        for field_id, _label, _hint, key in _NUMBER_FIELDS:
            text = self.query_one(f"#{field_id}", Input).value.strip()
            if text:
                data[key] = _integer(text, key)
        for field_id, _label, key in _RFM_FIELDS:
            text = self.query_one(f"#{field_id}", Input).value.strip()
            if text:
                data[key] = _integer(text, key)
        consent = self.query_one("#seg-consent", Select).value
        others = [c for c in self.base.consent[1:] if c != consent]  # kept, as above
        if isinstance(consent, str):
            data["consent"] = [consent, *others]
        elif others:
            data["consent"] = others
        tickets = self.query_one("#seg-tickets", Select).value
        if isinstance(tickets, str):
            data["open_tickets"] = tickets
        return parse_criteria(data)

    def fill_criteria(self, criteria: SegmentCriteria) -> None:
        """Show a saved segment's criteria in the fields."""
        values = criteria.as_json()
        for field_id, _label, _hint, key in _LIST_FIELDS:
            self.query_one(f"#{field_id}", Input).value = ", ".join(values.get(key, ()))
        for field_id, _label, _hint, key in _NUMBER_FIELDS:
            self.query_one(f"#{field_id}", Input).value = str(values.get(key, ""))
        for field_id, _label, key in _RFM_FIELDS:
            self.query_one(f"#{field_id}", Input).value = str(values.get(key, ""))
        consent = values.get("consent") or ()
        self.query_one("#seg-consent", Select).value = consent[0] if consent else Select.NULL
        tickets = values.get("open_tickets")
        self.query_one("#seg-tickets", Select).value = tickets or Select.NULL

    @on(Select.Changed, "#seg-saved")
    def _saved_chosen(self, event: Select.Changed) -> None:
        chosen = next((s for s in self.segments if s.name == event.value), None)
        if chosen is not None:
            self.base = chosen.criteria
            self.fill_criteria(chosen.criteria)
            hidden = sorted(k for k in chosen.criteria.as_json() if k not in FORM_KEYS)
            if hidden:  # said, so nobody wonders why the count differs from the fields
                self.notify(
                    f"{chosen.name}: also keeps {', '.join(hidden)} (no field here)",
                    timeout=6,
                    markup=False,
                )
            self.recount()

    @on(Input.Changed, "#nc-form Input")
    @on(Select.Changed, "#seg-consent, #seg-tickets")
    def _criteria_changed(self, event: Any) -> None:
        if getattr(event, "input", None) is not None and event.input.id in {
            "seg-name", "nc-name", "nc-cid",
        }:  # fmt: skip
            return
        if self._recount is not None:
            self._recount.stop()
        self._recount = self.set_timer(RECOUNT_AFTER, self.recount)

    @on(Select.Changed, "#nc-purpose")
    def _purpose_changed(self, event: Select.Changed) -> None:
        if self.script_edited or not isinstance(event.value, str):
            return
        script = self.query_one("#nc-script", TextArea)
        script.load_text(STARTING_SCRIPTS[CampaignPurpose(event.value)])

    @on(TextArea.Changed, "#nc-script")
    def _script_changed(self, event: TextArea.Changed) -> None:
        if event.text_area.text not in STARTING_SCRIPTS.values():
            self.script_edited = True

    @work(exclusive=True, group="campaign-count", exit_on_error=False)
    @while_shown
    async def recount(self) -> None:
        """Count the segment and show its first customers."""
        try:
            criteria = self.read_criteria()
        except ServiceError as exc:
            self.criteria = None
            self._count_line(str(exc), "$text-error")
            return
        self.criteria = criteria
        self._count_line("counting…", "$text-muted")
        try:
            count = await self.source.count(criteria)
            members = await self.source.preview(criteria, PREVIEW_ROWS)
        except Exception as exc:  # the database away: say so, keep the form
            self._count_line(f"not counted: {' '.join(str(exc).split())[:100]}", "$text-error")
            return
        self.counted = count
        self.counts += 1
        shown = f" · the first {len(members)}" if count > len(members) else ""
        self._count_line(f"{count:,} customers{shown}", "bold")
        table = self.query_one("#nc-table", DataTable)
        table.clear()
        for m in members:
            table.add_row(
                Text(m.name), Text(m.tier), Text(m.language), Text(m.phone), Text(m.country)
            )

    def _count_line(self, text: str, style: str) -> None:
        self.query_one("#nc-count", Static).update(Content.styled(text, style))

    # ---------------------------------------------------------------- create

    def show_error(self, message: str) -> None:
        self.query_one("#nc-error", ErrorLine).show_error(message)

    def read_campaign(self) -> NewCampaign:
        """The campaign the form describes; `ServiceError` naming the first bad field."""
        criteria = self.read_criteria()
        name = self.query_one("#nc-name", Input).value.strip()
        if not name:
            raise ServiceError("name: the campaign needs a name")
        queue = self.query_one("#nc-queue", Select).value
        if not isinstance(queue, str):
            raise ServiceError("queue: choose the queue its calls go to")
        survey = self.query_one("#nc-survey", Select).value
        return NewCampaign(
            name=name,
            purpose=CampaignPurpose(str(self.query_one("#nc-purpose", Select).value)),
            mode=DialMode(str(self.query_one("#nc-mode", Select).value)),
            queue=queue,
            criteria=criteria,
            segment_name=self.query_one("#seg-name", Input).value.strip(),
            caller_id=self.query_one("#nc-cid", Input).value.strip(),
            script_text=self.query_one("#nc-script", TextArea).text,
            survey_from=survey if isinstance(survey, str) else "",
        )

    async def action_create(self, start: bool) -> None:
        try:
            spec = self.read_campaign()
        except ServiceError as exc:
            self.show_error(str(exc))
            return
        try:
            _id, leads = await self.source.create(spec, start=start)
        except ServiceError as exc:
            self.show_error(str(exc))
            return
        except Exception as exc:  # the database away: one line, nothing created
            self.show_error(f"not created: {' '.join(str(exc).split())[:120]}")
            return
        if leads is None:
            self.notify(f"{spec.name}: created (draft); r on the board starts it", markup=False)
        else:
            self.notify(f"{spec.name}: running, {leads:,} customers on its list", markup=False)
        self.dismiss(spec.name)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _integer(text: str, key: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ServiceError(f"{key}: {text!r} is not a whole number") from None
