"""The AMI client's public value types: errors, action results, capabilities and timings.

Re-exported by ``console.cti.ami``; kept apart so the client module stays about the link.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from callkit.ami_frames import Message


class AmiError(Exception):
    """Base class of the AMI client's errors."""


class AmiAuthError(AmiError):
    """The PBX refused the credentials. The client stops; it does not retry them."""


class AmiNotConnected(AmiError):
    """An action was sent while the link is not connected."""


class AmiConnectionLost(AmiError):
    """The link dropped before the action's answer arrived."""


class AmiTimeout(AmiError, TimeoutError):
    """No answer within the timeout."""


class AmiProtocolError(AmiError):
    """The peer is not an AMI server, or its answer could not be parsed."""


class AmiUnsupported(AmiError):
    """The PBX does not offer this action (a simulator-only ``Sim*`` action on Asterisk)."""


@dataclass(frozen=True, slots=True)
class ActionResult:
    """An action's ``Response`` plus, for event-list actions, the items and the Complete event."""

    response: Message
    items: tuple[Message, ...] = ()
    complete: Message | None = None

    @property
    def ok(self) -> bool:
        """True for ``Response: Success`` (and Logoff's ``Goodbye``)."""
        return self.response.get("Response").strip().lower() in ("success", "goodbye")

    @property
    def message(self) -> str:
        """The response's ``Message:`` (the error text when not ok)."""
        return self.response.get("Message")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the connected PBX offers beyond standard AMI."""

    sim_phone: bool = False  # the simulator's SimPhone desk-phone action
    actions: frozenset[str] = frozenset()  # lower-case action names, when ListCommands answered
    sim_training: bool = False  # the simulator's SimTraining action (trainer runs)
    # ChanSpy (app_chanspy loaded, by ModuleCheck): None when the PBX would not say (no
    # ModuleCheck, no permission), so the first spy tells.
    chanspy: bool | None = None
    # MixMonitor: listed by ListCommands, or app_mixmonitor loaded by ModuleCheck.
    mixmonitor: bool | None = None


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays: ``initial`` doubling per failed attempt up to ``cap``.

    ``jitter`` is the fraction of each delay that is randomised (taken off, never added, so
    the cap holds): consoles restarted together by one PBX outage do not reconnect in step.
    """

    initial: float = 0.5
    cap: float = 30.0
    jitter: float = 0.5

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt number ``attempt + 1`` (attempt counts from 0)."""
        base = min(self.cap, self.initial * 2.0 ** min(attempt, 32))
        return base * (1.0 - self.jitter * rng.random())


@dataclass(frozen=True, slots=True)
class AmiTimings:
    """Every delay of the client, in seconds (tests shrink them)."""

    connect_timeout: float = 5.0  # TCP connect + greeting
    action_timeout: float = 10.0  # default wait for an action's answer (login, snapshots…)
    ping_interval: float = 15.0
    ping_timeout: float = 5.0  # a Pong later than this means the link is dead
    #: A link that stayed up this long resets the backoff; one dropping sooner keeps growing it.
    stable_after: float = 10.0
    backoff: Backoff = field(default_factory=Backoff)


@dataclass
class ClientStats:
    """Counters for logs and a status line."""

    connect_attempts: int = 0
    connections: int = 0  # successful logins
    malformed_frames: int = 0  # unparseable frames, or frames neither Event nor Response
    unmatched_responses: int = 0  # answers to no pending action (late, after a timeout)
    missed_pongs: int = 0
    bad_pongs: int = 0  # Ping answers that could not be read (the link stays up)
    tracker_errors: int = 0  # bugs caught around the tracker (logged with a traceback)
    event_frames: int = 0  # event frames received (not answers or list items)
    filters_added: int = 0  # AMI Filter actions the PBX accepted (agent consoles)
    renewals: int = 0  # sessions renewed to shed their per-call filters
    waits_asked: int = 0  # QueueStatus sent for an offer whose caller's join was not seen
