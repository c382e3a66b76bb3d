"""AMI framing: bytes on the wire <-> ordered ``Key: Value`` messages.

Pure code (no asyncio, no Textual) shared by the simulator's AMI server and the console's AMI
client. An AMI message is a run of ``Key: Value`` lines ended by an empty line; Asterisk sends
CRLF, but we accept bare LF too because hand-written clients (``nc``, scripts) send it.

Decoding: each line is decoded as UTF-8 with ``errors="replace"``. Asterisk passes caller ID
names through as raw bytes and modern PBXs send UTF-8, so UTF-8 is the right guess; "replace"
keeps every valid character intact and turns only the broken bytes into U+FFFD (latin-1 would
never fail but would silently turn every non-ASCII UTF-8 name into mojibake). A message that
needed a replacement is flagged (``Message.lossy``) so a server can refuse it with an error
while a client can still show the rest of an event.

Limits keep a hostile or broken peer from using unbounded memory: a line longer than
``MAX_LINE_BYTES`` or a message with more than ``MAX_KEYS`` lines is dropped whole and reported
as a ``FrameError`` once its terminating empty line arrives (the parser resynchronises there).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter

#: Longest accepted line in bytes, terminator excluded. Asterisk itself stops at 1024; we are
#: more generous because ``Variable:`` lines from third-party clients can be long.
MAX_LINE_BYTES = 8192
#: Most ``Key: Value`` lines in one message (Asterisk's AST_MAX_MANHEADERS is 128).
MAX_KEYS = 128

#: Error texts, worded as Asterisk words them where it has an equivalent.
LINE_TOO_LONG = "Failed to parse message: line too long"
TOO_MANY_KEYS = "Failed to parse message: too many header lines"
MALFORMED_LINE = "Failed to parse message: line without 'Key: Value'"
INVALID_UTF8 = "Failed to parse message: invalid UTF-8"

_CRLF_TO_SPACE = str.maketrans({"\r": " ", "\n": " "})


@dataclass(frozen=True, slots=True)
class Message:
    """One AMI message: ordered ``(key, value)`` pairs; keys may repeat (``ChanVariable``)."""

    pairs: tuple[tuple[str, str], ...]
    #: True when some bytes were not valid UTF-8 and were replaced by U+FFFD.
    lossy: bool = False
    _index: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # First occurrence wins, as in Asterisk's astman_get_header().
        for key, value in self.pairs:
            self._index.setdefault(key.lower(), value)

    def get(self, key: str, default: str = "") -> str:
        """Value of the first ``key`` (case-insensitive), or ``default`` when absent."""
        return self._index.get(key.lower(), default)

    def get_all(self, key: str) -> list[str]:
        """Every value of a repeated ``key`` (case-insensitive), in order."""
        wanted = key.lower()
        return [value for k, value in self.pairs if k.lower() == wanted]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)


@dataclass(frozen=True, slots=True)
class FrameError:
    """A message that could not be parsed; ``action_id`` is kept when it was readable."""

    reason: str
    action_id: str = ""


class FrameParser:
    """Incremental AMI parser: feed it bytes as they arrive, get whole messages back.

    With ``expect_greeting=True`` (client side) the first line, e.g.
    ``Asterisk Call Manager/9.0.0``, is stored in ``greeting`` instead of being parsed.
    """

    def __init__(
        self,
        *,
        expect_greeting: bool = False,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.greeting: str | None = None
        self._want_greeting = expect_greeting
        self._max_line = max_line_bytes
        self._max_keys = max_keys
        self._partial = b""
        self._discarding_line = False  # inside an over-long line: drop bytes up to next LF
        self._pairs: list[tuple[str, str]] = []
        self._lossy = False
        self._error: str | None = None  # the current message is broken; report at its end

    def feed(self, data: bytes) -> list[Message | FrameError]:
        """Consume ``data`` and return every message completed by it (possibly none)."""
        out: list[Message | FrameError] = []
        start = 0
        while (newline := data.find(b"\n", start)) >= 0:
            if self._discarding_line:
                # This LF ends the over-long line; what we kept of it is already gone.
                self._discarding_line = False
            else:
                raw = data[start:newline]
                if self._partial:
                    raw = self._partial + raw
                    self._partial = b""
                self._line(raw, out)
            start = newline + 1
        if start < len(data) and not self._discarding_line:
            self._partial += data[start:]
            # Never buffer more than one line's worth (+1 for its CR) of an unfinished line.
            if len(self._partial) > self._max_line + 1:
                self._partial = b""
                self._discarding_line = True
                self._error = self._error or LINE_TOO_LONG
        return out

    def _line(self, raw: bytes, out: list[Message | FrameError]) -> None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if self._want_greeting:
            self._want_greeting = False
            self.greeting = raw.decode("utf-8", errors="replace")
            return
        if not raw:
            self._end_message(out)
            return
        if self._error is not None:
            self._remember_action_id(raw)
            return
        if len(raw) > self._max_line:
            self._error = LINE_TOO_LONG
            return
        if len(self._pairs) >= self._max_keys:
            self._error = TOO_MANY_KEYS
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace")
            self._lossy = True
        key, sep, value = text.partition(":")
        key = key.strip()
        if not sep or not key:
            self._error = MALFORMED_LINE
            return
        # Asterisk skips the blanks after the colon (astman_get_header -> ast_skip_blanks).
        self._pairs.append((key, value.lstrip(" \t")))

    def _remember_action_id(self, raw: bytes) -> None:
        # Keep the ActionID of a broken message so the error can still be correlated.
        key, sep, value = raw.partition(b":")
        if sep and key.strip().lower() == b"actionid" and len(raw) <= self._max_line:
            self._pairs.append(("ActionID", value.strip().decode("utf-8", errors="replace")))

    def _end_message(self, out: list[Message | FrameError]) -> None:
        pairs, error, lossy = self._pairs, self._error, self._lossy
        self._pairs, self._error, self._lossy = [], None, False
        if error is not None:
            action_id = next((v for k, v in pairs if k.lower() == "actionid"), "")
            out.append(FrameError(error, action_id))
        elif pairs:  # consecutive empty lines are just keep-alive noise
            out.append(Message(tuple(pairs), lossy=lossy))


@lru_cache(maxsize=4096)
def _checked_key(key: str) -> str:
    # Keys come from our own code; a bad one is a programming error, not peer input.
    if not key or key != key.strip() or any(c in key for c in ":\r\n"):
        raise ValueError(f"invalid AMI key: {key!r}")
    return key


#: Keys already checked by `_checked_key` (bounded: keys come from code, not from peers).
_GOOD_KEYS: set[str] = set()
_MAX_GOOD_KEYS = 4096
_key_of = itemgetter(0)
_PAIR = frozenset({2})


def clean_value(value: str) -> str:
    """``value`` with CR and LF replaced by spaces so it cannot end a line or a message."""
    if "\r" in value or "\n" in value:
        return value.translate(_CRLF_TO_SPACE)
    return value


def _encode_checked(pairs: Iterable[tuple[str, str]]) -> str:
    parts = [f"{_checked_key(key)}: {clean_value(value)}\r\n" for key, value in pairs]
    parts.append("\r\n")
    return "".join(parts)


def _encode_fast(pairs: Sequence[tuple[str, str]]) -> str | None:
    """The wire text when every pair is a known key and a str value free of CR/LF, else None.

    Every event goes through here, so the work runs in C (``str.join`` over ``map``); any
    doubt sends the message to `_encode_checked`, which gives the same text or the same error.
    """
    count = len(pairs)
    if not count:
        return None
    try:
        # Anything but (str, str) items raises here; len() runs first so that a one-shot
        # iterable item is left for the checked path to consume.
        if not _PAIR.issuperset(map(len, pairs)) or not _GOOD_KEYS.issuperset(map(_key_of, pairs)):
            return None
        body = "\r\n".join(map(": ".join, pairs))
    except (TypeError, LookupError):
        return None
    if body.count("\n") != count - 1 or body.count("\r") != count - 1:
        return None  # a CR or LF inside a value: the checked path cleans it
    return body + "\r\n\r\n"


def encode_text(pairs: Iterable[tuple[str, str]]) -> str:
    """The wire text of one message (CRLF line ends, empty line at the end)."""
    if not isinstance(pairs, list | tuple):
        pairs = list(pairs)
    text = _encode_fast(pairs)
    if text is None:
        text = _encode_checked(pairs)  # raises ValueError on a bad key
        if len(_GOOD_KEYS) < _MAX_GOOD_KEYS:
            _GOOD_KEYS.update(key for key, _value in pairs)
    return text


def encode(pairs: Iterable[tuple[str, str]]) -> bytes:
    """Serialise one message to UTF-8 bytes; values can never inject a line or a frame."""
    return encode_text(pairs).encode("utf-8", errors="replace")
