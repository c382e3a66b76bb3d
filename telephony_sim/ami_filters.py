"""AMI event filters per session: the ``Filter`` action and manager.conf's ``eventfilter``.

Modelled on Asterisk 20.8+/21.3+ ``main/manager.c``: ``action_filter`` (``Operation: Add`` only,
optional ``MatchCriteria``), ``manager_add_filter`` (legacy ``regex`` / ``!regex`` and the
advanced ``action() name() header() method()`` criteria) and ``should_send_event`` with
``filter_cmp_fn`` (include filters, then exclude filters). Filters are per session, only ever
added, and apply to events from the shared event queue only: action responses and their list
items (QueueStatus, CoreShowChannels…) and the FullyBooted sent at login are written straight
to the session and never filtered.

A filter sees the event as Asterisk builds it (``__manager_event_sessions_va``): ``Event:``,
then ``Privilege: <class>,all``, then the fields, CRLF line ends and an empty line at the end.
The simulator leaves the Privilege line off the wire but puts it in the text filters match.

Legacy patterns are POSIX extended regular expressions (``regcomp(REG_EXTENDED | REG_NOSUB)``,
no ``REG_NEWLINE``), searched anywhere in that text: ``.`` matches CR and LF, ``^`` and ``$``
only the start and end of the whole text, a backslash inside brackets is a plain character
(so ``[^\\r\\n]`` is not "not CR/LF": use ``[[:cntrl:]]``, ``[^[:space:]]``). We translate the
pattern to Python's ``re`` (see `ere_to_python`); what ``re`` cannot express is refused as
"did not compile".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

#: Asterisk's answers (action_filter).
FILTER_ADDED = "Success"
UNKNOWN_OPERATION = "Unknown operation"
COMPILE_FAILED = "Filter did not compile.  Check the syntax of the filter given."
FORMAT_ERROR = "Filter was formatted incorrectly.  Check the syntax of the filter given."


class FilterError(Exception):
    """A filter Asterisk would refuse; the text is action_filter's ``Message:``."""


_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "0-9a-zA-Z",
    "upper": "A-Z",
    "lower": "a-z",
    "space": " \\t\\n\\r\\f\\v",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "xdigit": "0-9A-Fa-f",
    "print": "\\x20-\\x7e",
    "graph": "\\x21-\\x7e",
}
# GNU regex's escapes outside brackets that mean something (glibc regcomp); any other
# backslashed character stands for itself.
_GNU_ESCAPES = {
    "w": r"\w",
    "W": r"\W",
    "s": r"\s",
    "S": r"\S",
    "b": r"\b",
    "B": r"\B",
    "<": r"\b(?=\w)",
    ">": r"\b(?<=\w)",
    "`": r"\A",
    "'": r"\Z",
}


def ere_to_python(pattern: str) -> str:
    """A POSIX extended regular expression (glibc's dialect) as a Python ``re`` pattern with
    the same matches when searched with ``re.DOTALL``; raises `FilterError` when it cannot
    compile."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise FilterError(COMPILE_FAILED)  # "Trailing backslash"
            nxt = pattern[i + 1]
            if nxt.isdigit() and nxt != "0":
                out.append("\\" + nxt)  # a back-reference (a GNU extension to ERE)
            else:
                out.append(_GNU_ESCAPES.get(nxt) or re.escape(nxt))
            i += 2
        elif ch == "[":
            text, i = _bracket(pattern, i)
            out.append(text)
        elif ch == "$":
            out.append(r"\Z")  # the end of the text, never before a final newline
            i += 1
        elif ch == "^":
            out.append(r"\A")
            i += 1
        elif ch == "(" and pattern.startswith("(?", i):
            raise FilterError(COMPILE_FAILED)  # "?" with nothing to repeat in ERE
        else:
            out.append(ch)
            i += 1
    result = "".join(out)
    try:
        re.compile(result, re.DOTALL)
    except re.error:
        raise FilterError(COMPILE_FAILED) from None
    return result


def _bracket(pattern: str, start: int) -> tuple[str, int]:
    """Translate the bracket expression at ``start``; return it and the index after it."""
    i, n = start + 1, len(pattern)
    negate = i < n and pattern[i] == "^"
    if negate:
        i += 1
    parts: list[str] = []
    first = True
    while True:
        if i >= n:
            raise FilterError(COMPILE_FAILED)  # "Unmatched [ or [^"
        ch = pattern[i]
        if ch == "]" and not first:
            i += 1
            break
        first = False
        if pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2 : end] if end >= 0 else ""
            if name not in _CLASSES:
                raise FilterError(COMPILE_FAILED)  # "Invalid character class name"
            parts.append(_CLASSES[name])
            i = end + 2
        elif pattern.startswith("[=", i) or pattern.startswith("[.", i):
            close = pattern[i + 1] + "]"
            end = pattern.find(close, i + 2)
            if end < 0 or end == i + 2:
                raise FilterError(COMPILE_FAILED)
            parts.append(re.escape(pattern[i + 2 : end]))
            i = end + 2
        elif ch == "-" and parts and i + 1 < n and pattern[i + 1] != "]":
            parts.append("-")  # a range between the neighbours
            i += 1
        else:
            parts.append(re.escape(ch) if ch != "-" else "\\-")
            i += 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]", i


@dataclass(frozen=True, slots=True)
class EventFilter:
    """One filter (Asterisk's ``event_filter_entry``)."""

    exclude: bool
    match: Callable[[str], bool]  # the value (or whole event text) matches the pattern
    event_name: str = ""  # name(): only events with this exact name
    header: str = ""  # header(): only this header's values, "Name:" with the colon
    # A regex over the whole text (a legacy filter's): its search, and a literal every match
    # contains (`required_literal`), tested inline by `SessionFilters.allows`.
    search: Callable[[str], object] | None = None
    needle: str = ""

    def matches(self, name: str, text: str) -> bool:
        """filter_cmp_fn: whether this filter matches the event ``name`` with ``text``."""
        if self.event_name and name != self.event_name:
            return False
        if not self.header:
            return self.match(text)
        for line in text.split("\n"):
            if line.startswith(self.header):
                value = line[len(self.header) :].rstrip("\r").lstrip(" \t")
                if value and self.match(value):
                    return True
        return False


_QUANTIFIERS = frozenset("*+?{")


def required_literal(pattern: str) -> str:
    """The longest run of plain characters every match of the ERE ``pattern`` contains ("" if
    none is sure): a substring test that rules most events out before the regex runs, as
    grep does. Conservative: a top-level alternation, a group, a bracket, ``.`` or an anchor
    ends a run, and a quantified character is left out of it."""
    runs: list[str] = []
    run: list[str] = []
    depth = 0
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        literal: str | None = None
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            literal = nxt if nxt not in _GNU_ESCAPES and not nxt.isdigit() else None
            i += 2
        elif ch == "[":
            try:
                _, i = _bracket(pattern, i)
            except FilterError:
                return ""
        elif ch == "(":
            depth += 1
            i += 1
        elif ch == ")":
            depth = max(0, depth - 1)
            i += 1
        elif ch == "|":
            if depth == 0:
                return ""  # either side may match: no literal is required
            i += 1
        elif ch == "{":  # an interval {m,n}: skipped whole
            close = pattern.find("}", i)
            i = close + 1 if close > 0 else i + 1
        else:
            literal = ch if ch not in ".^$" and ch not in _QUANTIFIERS else None
            i += 1
        quantified = i < n and pattern[i] in _QUANTIFIERS
        if literal is not None and depth == 0 and not quantified:
            run.append(literal)
        else:
            if run:
                runs.append("".join(run))
            run = []
    if run:
        runs.append("".join(run))
    return max(runs, key=len, default="")


def _matcher(method: str, pattern: str) -> Callable[[str], bool]:
    if method == "regex":
        search = re.compile(ere_to_python(pattern), re.DOTALL).search
        needle = required_literal(pattern)
        if needle:  # a substring test first: most events lack it (and it is far cheaper)
            return lambda value: needle in value and search(value) is not None
        return lambda value: search(value) is not None
    if method == "exact":
        return lambda value: value == pattern
    if method == "starts_with":
        return lambda value: value.startswith(pattern)
    if method == "ends_with":
        return lambda value: value.endswith(pattern)
    if method == "contains":
        return lambda value: pattern in value
    return lambda value: True  # none


_METHODS = frozenset({"regex", "exact", "starts_with", "ends_with", "contains", "none"})


def parse_filter(criteria: str, pattern: str) -> EventFilter:
    """manager_add_filter: ``criteria`` is ``eventfilter`` or ``eventfilter(<options>)``
    (a manager.conf key, or ``eventfilter(`` + the Filter action's MatchCriteria + ``)``);
    raises `FilterError` with action_filter's message."""
    exclude = pattern.startswith("!")
    if exclude:
        pattern = pattern[1:]
    options_start = criteria.find("(")
    if options_start < 0:
        if not pattern:
            raise FilterError(FORMAT_ERROR)  # a legacy filter needs a pattern
        return _regex_filter(exclude, pattern)
    options = criteria[options_start + 1 :].strip()
    if not options or not options.endswith(")"):
        raise FilterError(FORMAT_ERROR)
    method, event_name, header, found = "none", "", "", False
    for option in filter(None, re.split(r"[ ,)]", options)):
        _key, paren, value = option.partition("(")
        value = value.strip()
        if not paren or not value:
            raise FilterError(FORMAT_ERROR)
        # Asterisk compares the option's first letters only (strncmp), as we do.
        if option.startswith("action"):
            if value not in ("include", "exclude"):
                raise FilterError(FORMAT_ERROR)
            exclude = value == "exclude"
        elif option.startswith("name"):
            event_name = value
        elif option.startswith("header"):
            header = value if value.endswith(":") else value + ":"
        elif option.startswith("method"):
            if value not in _METHODS:
                raise FilterError(FORMAT_ERROR)
            method = value
        else:
            raise FilterError(FORMAT_ERROR)
        found = True
    if not found:
        raise FilterError(FORMAT_ERROR)
    if not pattern and method != "none":
        raise FilterError(FORMAT_ERROR)  # a method needs a pattern
    if pattern and method == "none":
        raise FilterError(FORMAT_ERROR)  # a pattern needs a method
    if method == "none" and not event_name and not header:
        raise FilterError(FORMAT_ERROR)
    if method == "regex" and not event_name and not header:
        return _regex_filter(exclude, pattern)
    return EventFilter(exclude, _matcher(method, pattern), event_name, header)


def _regex_filter(exclude: bool, pattern: str) -> EventFilter:
    search = re.compile(ere_to_python(pattern), re.DOTALL).search
    return EventFilter(
        exclude, _matcher("regex", pattern), search=search, needle=required_literal(pattern)
    )


#: How many characters of a filter's literal `FilterIndex` keys it on: its last ones (a
#: device's, a call's or a queue's own name, rarely shared by unrelated filters).
GRAM = 8


class FilterIndex:
    """Every session's include filters that have a literal (`required_literal`), keyed by its
    last `GRAM` characters: the sessions an event may reach are found from the pieces of its
    text, instead of by matching every filter of every session.

    Asterisk matches each event against each session's filters in turn
    (``should_send_event``), in C. In Python that loop was over half of the simulator's CPU at
    200 consoles (each with a dozen static filters and one per call offered to it, up to 64;
    docs/seats.md), and it ran before any client got the event. The answer is the same: an
    indexed filter matches when its literal is in the text and its regex then matches, and its
    key is part of its literal.
    """

    __slots__ = ("_by_key", "_keys_of")

    def __init__(self) -> None:
        # key -> (owner, literal, the regex's search) of each indexed filter
        self._by_key: dict[str, list[tuple[object, str, Callable[[str], object]]]] = {}
        self._keys_of: dict[object, set[str]] = {}

    def add(self, owner: object, entry: EventFilter) -> bool:
        """Index ``owner``'s include filter ``entry``; False when it cannot be (an exclude
        filter, one without a whole-text regex, or a literal shorter than `GRAM`): the owner
        then matches it itself."""
        search = entry.search
        if entry.exclude or search is None or len(entry.needle) < GRAM:
            return False
        key = entry.needle[-GRAM:]
        self._by_key.setdefault(key, []).append((owner, entry.needle, search))
        self._keys_of.setdefault(owner, set()).add(key)
        return True

    def remove(self, owner: object) -> None:
        """Forget every filter of ``owner`` (its session has ended)."""
        for key in self._keys_of.pop(owner, ()):
            kept = [item for item in self._by_key[key] if item[0] is not owner]
            if kept:
                self._by_key[key] = kept
            else:
                del self._by_key[key]

    def matching(self, text: str) -> set[object]:
        """The owners with an indexed include filter that matches ``text``."""
        by_key = self._by_key
        if not by_key:
            return set()
        pieces = {text[i : i + GRAM] for i in range(len(text) - GRAM + 1)}
        found: set[object] = set()
        for key in by_key.keys() & pieces:
            for owner, needle, search in by_key[key]:
                if owner not in found and needle in text and search(text) is not None:
                    found.add(owner)
        return found


class SessionFilters:
    """One session's include and exclude filters (should_send_event).

    With an ``index`` (the server's, shared by every session), the include filters it can
    take are matched there for all sessions at once: `allows` is then given the owners it
    found, and matches only the rest itself.
    """

    __slots__ = ("_index", "_owner", "exclude", "include", "unindexed")

    def __init__(self, index: FilterIndex | None = None, owner: object = None) -> None:
        self.include: list[EventFilter] = []
        self.exclude: list[EventFilter] = []
        self.unindexed: list[EventFilter] = []  # include filters the index did not take
        self._index, self._owner = index, owner

    def add(self, entry: EventFilter) -> None:
        """Add one filter; there is no way to remove one (as in Asterisk)."""
        if entry.exclude:
            self.exclude.append(entry)
            return
        self.include.append(entry)
        if self._index is None or not self._index.add(self._owner, entry):
            self.unindexed.append(entry)

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def allows(self, name: str, text: str, matched: set[object] | None = None) -> bool:
        """No filters: everything. Include filters only: what one of them matches. Exclude
        filters only: what none of them matches. Both: what an include filter matches and no
        exclude filter does. ``matched``: the owners the index found for this text (without
        it every include filter is matched here)."""
        if self.include:
            if matched is None:
                if not _any_matches(self.include, name, text):
                    return False
            elif self._owner not in matched and not _any_matches(self.unindexed, name, text):
                return False
        return not (self.exclude and _any_matches(self.exclude, name, text))


def _any_matches(filters: list[EventFilter], name: str, text: str) -> bool:
    """Whether one of `filters` matches. Every event is matched against every session's
    filters (dozens per console), so a whole-text regex is tested inline: its literal first,
    then the regex only if the literal is there."""
    for f in filters:
        search = f.search
        if search is not None:
            if f.needle in text and search(text) is not None:
                return True
        elif f.matches(name, text):
            return True
    return False


def filter_text(event_class: str, data: bytes) -> str:
    """The text a filter matches for a serialised event ``data``: Asterisk's, with the
    ``Privilege: <class>,all`` line after ``Event:``."""
    text = data.decode("utf-8", errors="replace")
    head, sep, rest = text.partition("\r\n")
    return f"{head}{sep}Privilege: {event_class},all\r\n{rest}"


def filter_action(filters: SessionFilters, operation: str, criteria: str, pattern: str) -> str:
    """action_filter: add one filter to ``filters``; return the success message or raise
    `FilterError` with Asterisk's error message."""
    if operation.strip().lower() != "add":
        raise FilterError(UNKNOWN_OPERATION)
    criteria = criteria.strip()
    key = f"eventfilter({criteria})" if criteria else "eventfilter"
    filters.add(parse_filter(key, pattern))
    return FILTER_ADDED
