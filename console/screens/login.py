"""Log in: agent id and password. The same message for every kind of failure."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Static

from console.services.crm.agents import AgentDirectory, AgentIdentity


class LoginScreen(Screen[AgentIdentity]):
    """Asks for the agent id and password; dismisses with the authenticated agent."""

    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    #login { width: 50; height: auto; border: thick $primary; padding: 1 2; }
    #login Input { margin-bottom: 1; }
    #login-error { color: $text-error; height: auto; }
    """
    BINDINGS = [Binding("ctrl+q", "app.quit", "Quit")]

    def __init__(self, agents: AgentDirectory, *, login: str = "") -> None:
        super().__init__()
        self.agents = agents
        self.login = login

    def compose(self) -> ComposeResult:
        with Vertical(id="login"):
            yield Static(Content.styled("callconsole — log in", "bold"))
            yield Label("Agent id")
            yield Input(self.login, placeholder="e.g. agent01", id="agent-id", max_length=64)
            yield Label("Password")
            yield Input(password=True, id="password", max_length=1024)
            yield Label("", id="login-error")
            yield Button("Log in", variant="primary", id="submit")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#password" if self.login else "#agent-id", Input).focus()

    @on(Input.Submitted, "#agent-id")
    def _next(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    @on(Button.Pressed, "#submit")
    async def _submit(self) -> None:
        login = self.query_one("#agent-id", Input).value
        password = self.query_one("#password", Input)
        agent = await self.agents.authenticate(login, password.value)
        if agent is None:
            password.value = ""
            self.query_one("#login-error", Label).update("Unknown agent id or wrong password.")
            password.focus()
            return
        self.dismiss(agent)
