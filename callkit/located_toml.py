"""Located errors for TOML files (pure stdlib, shared with the simulator).

tomllib gives no positions for values, so the line of an offending key is found by scanning the
text: array-of-tables headers are counted to reach the n-th ``[[queues]]``, sub-tables narrow
the block, then the key's own line is searched for (falling back to inline tables); what is
left of the path is followed into the key's value (arrays may span lines).
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)d)?\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?"
    r"\s*(?:(\d+(?:\.\d+)?)s?)?\s*$"
)
_UNITS = (86400.0, 3600.0, 60.0, 1.0)
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
# Value tokens: strings (multi-line first), brackets and separators, comments, bare words.
_TOKEN = re.compile(
    r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\''
    r"|#[^\n]*|[\[\]{},=]|[^\s\[\]{},=#\"']+",
    re.DOTALL,
)
KeyPath = tuple[str | int, ...]


def parse_duration(text: str) -> float | None:
    """Seconds in ``"90s"``, ``"15m"``, ``"1h30m"``, ``"1d"`` or ``"90"``; None if malformed."""
    m = _DURATION.match(text)
    if not m or not any(m.groups()):
        return None
    return sum(float(g) * unit for g, unit in zip(m.groups(), _UNITS, strict=True) if g)


def text_problem(value: object, limit: int = 200) -> str | None:
    """Why ``value`` is not non-empty printable text of at most ``limit`` characters, or None."""
    if not isinstance(value, str):
        return f"must be a string (got {value!r})"
    if not value.strip() or len(value) > limit:
        return f"must be 1 to {limit} characters"
    if not value.isprintable():
        return f"must not contain control characters ({value!r})"
    return None


def seconds_of(value: object) -> float | None:
    """Seconds from a number >= 0 or a "90s", "15m", "1h30m", "1d"-style string; else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str):
        return parse_duration(value)
    return None


BAD_DURATION = 'bad duration {!r} (use e.g. "90s", "15m", "1h30m", "1d")'


def syntax_error_line(exc: tomllib.TOMLDecodeError, text: str) -> int:
    """The 1-based line tomllib's message points at (its last line for "end of document")."""
    m = re.search(r"line (\d+)", str(exc))
    return int(m.group(1)) if m else max(1, len(text.splitlines()))


def locate_key(text: str, path: tuple[str | int, ...]) -> int:
    """Best-effort 1-based line of the key at ``path`` (e.g. ("queues", 1, "strategy"))."""
    lines = text.splitlines()
    headers = []
    for i, line in enumerate(lines):
        m = _HEADER.match(line)
        if m:
            headers.append((i, m.group(2), m.group(1) == "[["))
    lo, hi, best, table = 0, len(lines), 0, ""
    i = 0
    while i < len(path):
        key = str(path[i])
        name = f"{table}.{key}" if table else key
        inside = [h for h in headers if lo <= h[0] < hi]
        if i + 1 < len(path) and isinstance(path[i + 1], int):
            arr = [h for h in inside if h[2] and h[1] == name]
            n = int(path[i + 1])
            if n < len(arr):
                start = arr[n][0]
                nxt = [h[0] for h in inside if h[0] > start and not h[1].startswith(name + ".")]
                lo, hi, best, table = start + 1, (nxt[0] if nxt else hi), start, name
                i += 2
                continue
        sub = [h for h in inside if not h[2] and h[1] == name]
        if sub:
            start = sub[0][0]
            # The table runs to the next header that is not one of its own sub-tables
            # ([outbound] holds [outbound.hours] and [[outbound.campaigns]]).
            nxt = [h[0] for h in inside if h[0] > start and not h[1].startswith(name + ".")]
            lo, hi, best, table = start + 1, (nxt[0] if nxt else hi), start, name
            i += 1
            continue
        if i + 1 < len(path) and any(h[1].startswith(name + ".") for h in inside):
            table, i = name, i + 1  # only dotted headers below it: [queues.billing]
            continue
        own_end = next((h[0] for h in inside), hi)
        plain = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=')
        for j in range(lo, own_end):
            if plain.match(lines[j]):
                return _follow_value(lines, j, plain.match(lines[j]), path[i + 1 :])
        inline = re.compile(rf"\b{re.escape(key)}\s*=")
        for j in range(lo, hi):
            found = inline.search(lines[j])
            if found:
                return _follow_value(lines, j, found, path[i + 1 :])
        named = [h[0] for h in inside if h[1] == name or h[1].startswith(name + ".")]
        if named:  # a misspelt table header such as [[rules]]
            return named[0] + 1
        break
    return best + 1


def _follow_value(
    lines: list[str], row: int, key: re.Match[str] | None, rest: tuple[str | int, ...]
) -> int:
    """The line of ``rest`` inside the value after the key matched on line ``row``."""
    if key is None or not rest:
        return row + 1
    start = sum(len(line) + 1 for line in lines[:row]) + key.end()
    text = "\n".join(lines)
    tokens = [
        (m.group(), text.count("\n", 0, m.start()) + 1)
        for m in _TOKEN.finditer(text, start)
        if not m.group().startswith("#")
    ]
    at, line = 0, row + 1
    for part in rest:
        opener = "[" if isinstance(part, int) else "{"
        if at >= len(tokens) or tokens[at][0] != opener:
            break
        at = _find_member(tokens, at, part)
        if at < 0:
            break
        line = tokens[at][1]
    return line


def _find_member(tokens: list[tuple[str, int]], at: int, part: str | int) -> int:
    """Index of element ``part`` of the array (or the value of key ``part`` of the inline
    table) opening at ``tokens[at]``; -1 when absent."""
    index, i = 0, at + 1
    while i < len(tokens) and tokens[i][0] not in "]}":
        if isinstance(part, str):
            if i + 1 < len(tokens) and tokens[i + 1][0] == "=":
                if tokens[i][0].strip("\"'") == part:
                    return i + 2
                i += 2
        elif index == part:
            return i
        i = _skip_value(tokens, i)
        if i < len(tokens) and tokens[i][0] == ",":
            i += 1
        index += 1
    return -1


def _skip_value(tokens: list[tuple[str, int]], i: int) -> int:
    """Index just past the value starting at ``tokens[i]`` (nested arrays and tables)."""
    depth = 0
    while i < len(tokens):
        tok = tokens[i][0]
        depth += tok in "[{"
        depth -= tok in "]}"
        i += 1
        if depth <= 0:
            break
    return i


class LocatedReader:
    """One TOML file's text and errors: ``error("file:line: key: message")``.

    The value checks are pydantic validators now (`callkit.toml_values`, applied by
    `callkit.located_model.validate_located`); a reader loads the text and places errors."""

    def __init__(self, source: str, text: str, error: type[ValueError] = ValueError) -> None:
        self.source = source
        self.text = text
        self.error = error
        self.context = ""  # put before the key in messages, e.g. "rule 'vip': "

    def load(self) -> dict[str, Any]:
        """The parsed text; a syntax error is reported with tomllib's line."""
        try:
            return tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            line = syntax_error_line(exc, self.text)
            raise self.error(f"{self.source}:{line}: TOML syntax error: {exc}") from None

    def key_name(self, path: KeyPath) -> str:
        """How messages name the key at `path`: "retry.window", "escalate[2].after"."""
        where = ""
        for part in path:
            where += f"[{part + 1}]" if isinstance(part, int) else ("." if where else "") + part
        return where

    def line(self, path: KeyPath) -> int:
        """The 1-based line of the key at `path` (best effort; see `locate_key`)."""
        return locate_key(self.text, path)

    def fail(self, path: KeyPath, message: str, at: KeyPath | None = None) -> ValueError:
        """An error naming the key at `path`, on the line of `at` (default: `path`)."""
        line = self.line(path if at is None else at)
        where = self.key_name(path)
        prefix = f"{where}: " if where else ""
        return self.error(f"{self.source}:{line}: {self.context}{prefix}{message}")
