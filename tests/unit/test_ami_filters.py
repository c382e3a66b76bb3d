"""The simulator's AMI event filters against Asterisk's own cases (main/manager.c's
eventfilter_test_creation and eventfilter_test_matching tables, Asterisk 20.8+)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telephony_sim.ami_filters import (
    COMPILE_FAILED,
    FORMAT_ERROR,
    UNKNOWN_OPERATION,
    FilterError,
    FilterIndex,
    SessionFilters,
    ere_to_python,
    filter_action,
    filter_text,
    parse_filter,
    required_literal,
)

NEWCHANNEL = ("Newchannel", "Event: Newchannel\r\nChannel: XXX\r\nSomeheader: YYY\r\n")
VARSET = ("VarSet", "Event: VarSet\r\nChannel: ABC\r\nSomeheader: XXX\r\n")


def sends(criteria: str, pattern: str, event: tuple[str, str]) -> bool:
    filters = SessionFilters()
    filters.add(parse_filter(criteria, pattern))
    return filters.allows(*event)


@pytest.mark.parametrize(
    ("criteria", "pattern", "event", "expected"),
    [
        ("eventfilter", "XXX", NEWCHANNEL, True),
        ("eventfilter", "!XXX", VARSET, False),
        ("eventfilter(name(VarSet),method(none))", "", VARSET, True),
        ("eventfilter(name(Newchannel),method(regex))", "X[XYZ]X", NEWCHANNEL, True),
        ("eventfilter(name(Newchannel),method(regex))", "X[abc]X", NEWCHANNEL, False),
        (
            "eventfilter(action(exclude),name(Newchannel),method(regex))",
            "X[XYZ]X",
            NEWCHANNEL,
            False,
        ),
        (
            "eventfilter(action(exclude),name(Newchannel),method(regex))",
            "X[abc]X",
            NEWCHANNEL,
            True,
        ),
        (
            "eventfilter(action(include),name(VarSet),header(Channel),method(starts_with))",
            "AB",
            VARSET,
            True,
        ),
        (
            "eventfilter(action(include),name(VarSet),header(Channel),method(ends_with))",
            "BC",
            VARSET,
            True,
        ),
        (
            "eventfilter(action(include),name(VarSet),header(Channel),method(exact))",
            "ABC",
            VARSET,
            True,
        ),
        (
            "eventfilter(action(include),name(VarSet),header(Channel),method(exact))",
            "XXX",
            VARSET,
            False,
        ),
        ("eventfilter(name(VarSet),header(Channel),method(exact))", "!ZZZ", VARSET, True),
        (
            "eventfilter(action(exclude),name(VarSet),header(Channel),method(exact))",
            "ZZZ",
            VARSET,
            True,
        ),
        # action() wins over the "!" prefix: an include filter for the value "!XXX".
        (
            "eventfilter(action(include),name(VarSet),header(Someheader),method(exact))",
            "!XXX",
            VARSET,
            True,
        ),
    ],
)
def test_asterisks_filter_creation_cases(
    criteria: str, pattern: str, event: tuple[str, str], expected: bool
) -> None:
    assert sends(criteria, pattern, event) is expected


@pytest.mark.parametrize(
    ("criteria", "pattern", "message"),
    [
        ("eventfilter(action(include)", "", FORMAT_ERROR),
        ("eventfilter(action(inlude)", "", FORMAT_ERROR),
        ("eventfilter(nnnn(yyy)", "XXX", FORMAT_ERROR),
        ("eventfilter(eader(VarSet)", "XXX", FORMAT_ERROR),
        ("eventfilter(ethod(contains)", "XXX", FORMAT_ERROR),
        ("eventfilter(name(yyy),heder(VarSet),method(contains)", "XXX", FORMAT_ERROR),
        ("eventfilter(name(yyy),header(VarSet),method(coains)", "XXX", FORMAT_ERROR),
        ("eventfilter(method(yyy))", "XXX", FORMAT_ERROR),
        ("eventfilter", "", FORMAT_ERROR),
        ("eventfilter", "!", FORMAT_ERROR),
        ("eventfilter()", "XXX", FORMAT_ERROR),
        ("eventfilter", "XX[X", COMPILE_FAILED),
        ("eventfilter(method(regex))", "XX[X", COMPILE_FAILED),
    ],
)
def test_asterisks_refused_filters(criteria: str, pattern: str, message: str) -> None:
    with pytest.raises(FilterError) as refused:
        parse_filter(criteria, pattern)
    assert str(refused.value) == message


def test_include_then_exclude_precedence_as_in_asterisks_matching_table() -> None:
    filters = SessionFilters()
    for criteria, pattern in [
        ("eventfilter(name(VarSet),method(none))", ""),
        ("eventfilter(name(Newchannel),method(regex))", "X[XYZ]X"),
        ("eventfilter(name(Newchannel),method(regex))", "X[abc]X"),
        ("eventfilter(name(Newchannel),header(Someheader),method(regex))", "ZZZ"),
        ("eventfilter(action(exclude),name(Newchannel),method(regex))", "X[a]X"),
        ("eventfilter(action(exclude),name(Newchannel),method(regex))", "X[Z]X"),
        ("eventfilter(action(exclude),name(VarSet),header(Channel),method(regex))", "YYY"),
    ]:
        filters.add(parse_filter(criteria, pattern))
    cases = [
        ("Newchannel", "XXX", "YYY", True),
        ("Newchannel", "XZX", "YYY", False),
        ("Newchannel", "XaX", "YYY", False),
        ("Newchannel", "XbX", "YYY", True),
        ("Newchannel", "XcX", "YYY", True),
        ("Newchannel", "YYY", "YYY", False),
        ("Newchannel", "YYY", "ZZZ", True),
        ("VarSet", "XXX", "YYY", True),
        ("VarSet", "YYY", "YYY", False),
    ]
    for name, channel, some, expected in cases:
        text = f"Event: {name}\r\nChannel: {channel}\r\nSomeheader: {some}\r\n"
        assert filters.allows(name, text) is expected, (name, channel, some)


def test_no_filters_send_everything_and_exclude_only_filters_send_the_rest() -> None:
    filters = SessionFilters()
    assert filters.allows(*NEWCHANNEL)
    filters.add(parse_filter("eventfilter", "!Channel: DAHDI"))
    assert filters.allows(*NEWCHANNEL)
    assert not filters.allows("Newchannel", "Event: Newchannel\r\nChannel: DAHDI/1-1\r\n")


def test_the_action_adds_only_and_answers_in_asterisks_words() -> None:
    filters = SessionFilters()
    assert filter_action(filters, "Add", "", "Event: Hangup") == "Success"
    assert filter_action(filters, "add", "name(Hangup)", "") == "Success"
    for operation in ("", "Remove", "List"):
        with pytest.raises(FilterError, match=f"^{UNKNOWN_OPERATION}$"):
            filter_action(filters, operation, "", "x")
    assert len(filters.include) == 2


def test_regexes_are_posix_extended_over_the_whole_event_text() -> None:
    text = filter_text(
        "call", b"Event: Hangup\r\nChannel: PJSIP/1001-0000000a\r\nCause: 16\r\n\r\n"
    )
    assert text.startswith("Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/1001-")

    def hit(pattern: str) -> bool:
        return re.search(ere_to_python(pattern), text, re.DOTALL) is not None

    assert hit("Privilege: call")
    assert hit("Channel: PJSIP/1001(-[^[:space:]]*)?[[:cntrl:]]")
    assert not hit("Channel: PJSIP/100(-[^[:space:]]*)?[[:cntrl:]]")  # not PJSIP/1001's
    assert hit("Hangup.*Cause")  # "." crosses line ends: no REG_NEWLINE
    assert hit("^Event: Hangup")
    assert not hit("^Channel")  # ^ is the start of the whole text, not of a line
    assert not hit(r"\r\n\r\n$")  # a backslash before r is just "r" in ERE
    assert not hit(r"16\r\n")  # it means "16rn"
    assert hit("[[:cntrl:]]$")
    assert not hit("16[[:cntrl:]]$")  # $ is after the empty line, not before a newline
    assert hit("[[:digit:]]{2}[[:space:]]")
    assert not hit("[\\r]Channel")  # inside brackets a backslash is itself
    assert hit(r"PJSIP\/1001")  # an escaped ordinary character stands for itself


@pytest.mark.parametrize("pattern", ["(?i)event", "a[", "[[:nope:]]", "x\\", "(ab"])
def test_what_regcomp_refuses_does_not_compile(pattern: str) -> None:
    with pytest.raises(FilterError, match="did not compile"):
        ere_to_python(pattern)


@given(st.text(alphabet="abcXYZ019-/@.;: ", max_size=20))
def test_escaped_literal_text_matches_itself(value: str) -> None:
    escaped = "".join("\\" + c if c in ".[]()*+?{}|^$\\" else c for c in value)
    assert re.search(ere_to_python(escaped), f"x{value}y", re.DOTALL)


# Pieces of EREs: plain and escaped characters, brackets, any character, anchors, groups with
# alternation, intervals and other quantifiers, back-references, GNU escapes.
_ATOMS = st.sampled_from(
    ["a", "b", "c", ":", " ", "\\.", "\\|", "[ab]", "[^a]", "[[:cntrl:]]", ".", "^", "$", "\\w"]
)


@st.composite
def _eres(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        if depth < 2 and draw(st.integers(0, 5)) == 0:
            inner = draw(st.lists(_eres(depth + 1), min_size=1, max_size=3))
            atom = "(" + "|".join(inner) + ")"
        else:
            atom = draw(_ATOMS)
        parts.append(atom + draw(st.sampled_from(["", "", "", "*", "+", "?", "{2}", "{1,3}"])))
    if depth == 0 and draw(st.booleans()) and draw(st.booleans()):
        parts.append("|" + draw(_ATOMS))
    return "".join(parts)


@given(_eres(), st.text(alphabet="abc: .|\r\n\\", max_size=30), st.data())
def test_every_match_holds_the_required_literal(
    pattern: str, noise: str, data: st.DataObject
) -> None:
    """The simulator's shortcut (a substring test before the regex) never drops an event the
    regex matches: whatever matches contains the pattern's required literal."""
    try:
        compiled = re.compile(ere_to_python(pattern), re.DOTALL)
    except FilterError:
        return
    needle = required_literal(pattern)
    # Texts likely to match: the plain characters of a part of the pattern, among noise.
    start = data.draw(st.integers(0, len(pattern)))
    part = pattern[start : data.draw(st.integers(start, len(pattern)))]
    plain = re.sub(r"[\\\[\]()*+?{}|^$.]", "", part)
    cut = data.draw(st.integers(0, len(noise)))
    for text in (noise, noise[:cut] + plain + noise[cut:], plain):
        if compiled.search(text):
            assert needle in text, (pattern, text, needle)


def test_the_required_literal_of_a_consoles_patterns() -> None:
    assert required_literal(": PJSIP/1001(-[^[:space:]]*)?[[:cntrl:]]") == ": PJSIP/1001"
    assert required_literal("Linkedid: 1733\\.45[[:cntrl:]]") == "Linkedid: 1733.45"
    assert required_literal("^Event: (A|B)[[:cntrl:]].*Queue: sales[[:cntrl:]]") == "Queue: sales"
    assert required_literal("ab*c") in ("a", "c")
    assert required_literal("a{2}bc") == "bc"
    assert required_literal("a|b") == ""


# The index the server matches every session's include filters with (FilterIndex): the
# same answers as each session matching its own filters, for sessions of consoles' patterns
# (long literals: indexed), short or literal-less ones (matched by the session itself),
# advanced criteria and exclude filters, added and forgotten in any order.
_FILTER_POOL = [
    ("eventfilter", ": PJSIP/1001(-[^[:space:]]*)?[[:cntrl:]]"),
    ("eventfilter", ": PJSIP/1002(-[^[:space:]]*)?[[:cntrl:]]"),
    ("eventfilter", "Linkedid: 1733\\.45[[:cntrl:]]"),
    ("eventfilter", "Linkedid: 1733\\.4[[:cntrl:]]"),
    (
        "eventfilter",
        "^Event: (QueueCallerJoin|QueueCallerLeave)[[:cntrl:]].*Queue: sales[[:cntrl:]]",
    ),
    ("eventfilter", "[[:cntrl:]](Member)?Name: Ann Lee[[:cntrl:]]"),
    ("eventfilter", "Hangup"),
    ("eventfilter", "(Dial|Bridge)"),
    ("eventfilter", "!Queue: sales"),
    ("eventfilter(name(VarSet),header(Channel),method(starts_with))", "PJSIP/1001"),
    ("eventfilter(action(exclude),name(Hangup),method(none))", ""),
]
_EVENT_POOL = [
    ("Hangup", "Channel: PJSIP/1001-00000001", "Linkedid: 1733.45"),
    ("Hangup", "Channel: PJSIP/1002-00000002", "Linkedid: 1733.4"),
    ("VarSet", "Channel: PJSIP/1001-00000003", "Linkedid: 1733.451"),
    ("DialBegin", "DestChannel: PJSIP/10023-0001", "Linkedid: 99.1"),
    ("QueueCallerJoin", "Queue: sales", "Channel: SIP/trunk-1"),
    ("QueueCallerLeave", "Queue: salesfloor", "Linkedid: 1733.45"),
    ("AgentCalled", "MemberName: Ann Lee", "Queue: sales"),
    ("BridgeEnter", "Channel: Local/1001@from-queue-1;1", "Linkedid: 1733.4"),
]


def _event_text(name: str, *lines: str) -> str:
    body = "".join(f"{line}\r\n" for line in lines)
    return filter_text("call", f"Event: {name}\r\n{body}\r\n".encode())


@given(
    st.lists(st.lists(st.sampled_from(_FILTER_POOL), max_size=6), min_size=1, max_size=6),
    st.lists(st.integers(0, 5), max_size=3),
)
def test_the_index_sends_each_session_what_its_own_filters_would(
    sessions: list[list[tuple[str, str]]], gone: list[int]
) -> None:
    index = FilterIndex()
    indexed: list[SessionFilters] = []
    plain: list[SessionFilters] = []
    for number, entries in enumerate(sessions):
        owner = SessionFilters(index, f"session {number}")
        alone = SessionFilters()
        for criteria, pattern in entries:
            owner.add(parse_filter(criteria, pattern))
            alone.add(parse_filter(criteria, pattern))
        indexed.append(owner)
        plain.append(alone)
    for number in gone:  # sessions that ended: their filters leave the index
        index.remove(f"session {number}")
    for name, *lines in _EVENT_POOL:
        text = _event_text(name, *lines)
        matched = index.matching(text)
        for number, (owner, alone) in enumerate(zip(indexed, plain, strict=True)):
            if number in gone:
                continue
            assert owner.allows(name, text, matched) == alone.allows(name, text), (
                number,
                name,
                lines,
            )


def test_the_index_takes_long_literals_only_and_forgets_an_ended_session() -> None:
    index = FilterIndex()
    filters = SessionFilters(index, "a")
    filters.add(parse_filter("eventfilter", ": PJSIP/1001(-[^[:space:]]*)?[[:cntrl:]]"))
    filters.add(parse_filter("eventfilter", "Hangup"))  # "Hangup": shorter than GRAM
    assert len(filters.unindexed) == 1
    text = _event_text("Newstate", "Channel: PJSIP/1001-0000000a")
    assert index.matching(text) == {"a"}
    assert filters.allows("Newstate", text, index.matching(text))
    index.remove("a")
    assert index.matching(text) == set()
    assert not filters.allows("Newstate", text, index.matching(text))
