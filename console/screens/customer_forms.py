"""Forms on the customer view: edit the profile, add a phone number.

Both call `CustomerService` themselves and show its refusal (a `CustomerError`, one line)
under the form, keeping what the agent typed; nothing is saved until the service accepts all
of it. They dismiss with what changed, or None when the agent cancels.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Footer, Input, Select, Static, TextArea

from console.models.enums import Lifecycle, Tier
from console.screens.form import FormScreen, form_bindings
from console.services.crm.customers import CustomerError, CustomerService
from console.services.desk.screenpop import CustomerProfile
from console.widgets.format import clip
from console.widgets.forms import ErrorLine, FieldRow, NumberFields

# The profile read shows notes cut to this length (with "…"); longer notes are not editable
# here, or saving the form would save the cut copy.
SHOWN_NOTES_MAX = 2000


def parse_tags(text: str) -> list[str]:
    """`"vip, billing ,"` → `["vip", "billing"]` (the service checks each tag)."""
    return [tag.strip() for tag in text.split(",") if tag.strip()]


class EditProfileScreen(FormScreen[frozenset[str]]):
    """Edit name, language, tier, lifecycle, tags and notes; dismisses with the fields changed.

    Only fields the agent changed are sent, so a value the profile read shortened (a
    200-character name, long notes) is never written back cut.
    """

    BINDINGS = form_bindings("Save")

    def __init__(
        self, customers: CustomerService, profile: CustomerProfile, *, agent_id: int
    ) -> None:
        super().__init__()
        self.customers = customers
        self.profile = profile
        self.agent_id = agent_id
        self.notes_editable = not (
            len(profile.notes) >= SHOWN_NOTES_MAX and profile.notes.endswith("…")
        )

    def compose(self) -> ComposeResult:
        profile = self.profile
        with Vertical(id="form-box", classes="form-box"):
            yield Static(
                Content.assemble("Edit ", (clip(profile.display_name, 60), "bold")),
                classes="form-title",
                markup=False,
            )
            yield FieldRow(
                "Name",
                Input(profile.display_name, max_length=400, compact=True, id="edit-name"),
            )
            yield FieldRow(
                "Language",
                Input(
                    profile.language,
                    placeholder="e.g. en, zh, pt-BR",
                    max_length=40,
                    compact=True,
                    id="edit-language",
                ),
            )
            yield FieldRow(
                "Tier",
                Select(
                    [(t.value, t.value) for t in Tier],
                    value=profile.tier if profile.tier in set(Tier) else Select.NULL,
                    allow_blank=profile.tier not in set(Tier),
                    compact=True,
                    id="edit-tier",
                ),
            )
            yield FieldRow(
                "Lifecycle",
                Select(
                    [(stage.value, stage.value) for stage in Lifecycle],
                    value=profile.lifecycle if profile.lifecycle in set(Lifecycle) else Select.NULL,
                    allow_blank=profile.lifecycle not in set(Lifecycle),
                    compact=True,
                    id="edit-lifecycle",
                ),
            )
            yield FieldRow(
                "Tags",
                Input(
                    ", ".join(profile.tags),
                    placeholder="comma-separated, e.g. vip, billing",
                    max_length=2000,
                    compact=True,
                    id="edit-tags",
                ),
            )
            notes = TextArea(
                profile.notes,
                soft_wrap=True,
                show_line_numbers=False,
                compact=True,
                read_only=not self.notes_editable,
                id="edit-notes",
            )
            yield FieldRow("Notes", notes)
            if not self.notes_editable:
                yield Static(
                    Content.styled("These notes are too long to edit here.", "$text-muted"),
                    markup=False,
                )
            yield ErrorLine(id="edit-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#edit-name", Input).focus()

    def _changes(self) -> dict[str, object]:
        """The fields whose value differs from the profile as loaded."""
        profile = self.profile
        changes: dict[str, object] = {}
        name = self.query_one("#edit-name", Input).value
        if name.strip() != profile.display_name:
            changes["display_name"] = name
        language = self.query_one("#edit-language", Input).value
        if language.strip() != profile.language:
            changes["language"] = language
        tier = self.query_one("#edit-tier", Select).value
        if isinstance(tier, str) and tier != profile.tier:
            changes["tier"] = tier
        lifecycle = self.query_one("#edit-lifecycle", Select).value
        if isinstance(lifecycle, str) and lifecycle != profile.lifecycle:
            changes["lifecycle"] = lifecycle
        tags = parse_tags(self.query_one("#edit-tags", Input).value)
        if tags != list(profile.tags):
            changes["tags"] = tags
        notes = self.query_one("#edit-notes", TextArea).text
        if self.notes_editable and notes.strip() != profile.notes.strip():
            changes["notes"] = notes
        return changes

    @on(Input.Submitted)
    async def _submitted(self) -> None:
        await self.action_save()

    async def action_save(self) -> None:
        changes = self._changes()
        if not changes:
            self.dismiss(frozenset())
            return
        try:
            changed = await self.customers.update_profile(
                self.profile.id,
                agent_id=self.agent_id,
                display_name=_str(changes.get("display_name")),
                language=_str(changes.get("language")),
                tier=_str(changes.get("tier")),
                lifecycle=_str(changes.get("lifecycle")),
                tags=_tags(changes.get("tags")),
                notes=_str(changes.get("notes")),
            )
        except CustomerError as exc:
            self.show_error(str(exc))
            return
        self.dismiss(changed)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _tags(value: object) -> list[str] | None:
    return [str(t) for t in value] if isinstance(value, list) else None


class AddNumberScreen(FormScreen[str]):
    """Add a phone number to a customer; dismisses with the number as stored (E.164)."""

    BINDINGS = form_bindings("Add number")

    def __init__(
        self,
        customers: CustomerService,
        customer_id: int,
        *,
        agent_id: int,
        customer_name: str = "",
        number: str = "",
        region: str = "US",
    ) -> None:
        super().__init__()
        self.customers = customers
        self.customer_id = customer_id
        self.agent_id = agent_id
        self.customer_name = customer_name
        self.number = number
        self.number_region = region

    def compose(self) -> ComposeResult:
        who = clip(self.customer_name, 50) or f"customer #{self.customer_id}"
        with Vertical(id="form-box", classes="form-box"):
            yield Static(
                Content.assemble("Add a phone number for ", (who, "bold")),
                classes="form-title",
                markup=False,
            )
            yield NumberFields(self.number, region=self.number_region)
            yield ErrorLine(id="number-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#number", Input).focus()

    @on(Input.Submitted)
    async def _submitted(self) -> None:
        await self.action_save()

    async def action_save(self) -> None:
        fields = self.query_one(NumberFields)
        try:
            e164 = await self.customers.attach_number(
                self.customer_id,
                fields.number,
                agent_id=self.agent_id,
                kind=fields.kind,
                label=fields.label,
            )
        except CustomerError as exc:
            self.show_error(str(exc))
            return
        self.dismiss(e164)
