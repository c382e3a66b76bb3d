"""AMI framing codec: parsing, limits, encoding, and property tests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callkit.ami_frames import (
    INVALID_UTF8,
    LINE_TOO_LONG,
    MALFORMED_LINE,
    MAX_KEYS,
    TOO_MANY_KEYS,
    FrameError,
    FrameParser,
    Message,
    encode,
)


def parse_all(data: bytes) -> list[Message | FrameError]:
    return FrameParser().feed(data)


def only_message(data: bytes) -> Message:
    items = parse_all(data)
    assert len(items) == 1
    item = items[0]
    assert isinstance(item, Message)
    return item


def test_crlf_and_bare_lf_give_the_same_message() -> None:
    crlf = only_message(b"Action: Ping\r\nActionID: 7\r\n\r\n")
    lf = only_message(b"Action: Ping\nActionID: 7\n\n")
    assert crlf.pairs == lf.pairs == (("Action", "Ping"), ("ActionID", "7"))


def test_get_is_case_insensitive_and_first_wins() -> None:
    message = only_message(b"action: Login\r\nUSERNAME: a\r\nusername: b\r\n\r\n")
    assert message.get("Action") == "Login"
    assert message.get("Username") == "a"
    assert message.get("Missing") == ""
    assert message.get("Missing", "x") == "x"
    assert "ACTION" in message
    assert "secret" not in message


def test_get_all_returns_repeated_keys_in_order() -> None:
    message = only_message(
        b"Action: Originate\r\nVariable: a=1\r\nvariable: b=2\r\nChanVariable: c=3\r\n\r\n"
    )
    assert message.get_all("Variable") == ["a=1", "b=2"]
    assert message.get_all("chanvariable") == ["c=3"]


def test_value_keeps_inner_colons_and_drops_leading_blanks() -> None:
    message = only_message(b"Channel:   PJSIP/100-0000:01\r\n\r\n")
    assert message.get("Channel") == "PJSIP/100-0000:01"


def test_message_split_across_many_feeds() -> None:
    parser = FrameParser()
    data = b"Action: Ping\r\nActionID: abc\r\n\r\n"
    results: list[Message | FrameError] = []
    for byte in data:
        results.extend(parser.feed(bytes([byte])))
    assert results == [Message((("Action", "Ping"), ("ActionID", "abc")))]


def test_extra_blank_lines_are_ignored() -> None:
    items = parse_all(b"\r\n\r\nAction: Ping\r\n\r\n\r\n\nAction: Logoff\r\n\r\n")
    assert [m.get("Action") for m in items if isinstance(m, Message)] == ["Ping", "Logoff"]
    assert len(items) == 2


def test_greeting_is_kept_apart_on_the_client_side() -> None:
    parser = FrameParser(expect_greeting=True)
    items = parser.feed(b"Asterisk Call Manager/9.0.0\r\nResponse: Success\r\n\r\n")
    assert parser.greeting == "Asterisk Call Manager/9.0.0"
    assert items == [Message((("Response", "Success"),))]


def test_ten_kilobyte_line_is_an_error_then_parser_resyncs() -> None:
    parser = FrameParser()
    long_line = b"Action: " + b"x" * 10_240 + b"\r\n"
    items = parser.feed(b"ActionID: 42\r\n" + long_line + b"Other: y\r\n\r\n")
    assert items == [FrameError(LINE_TOO_LONG, "42")]
    assert parser.feed(b"Action: Ping\r\n\r\n") == [Message((("Action", "Ping"),))]


def test_long_unterminated_line_does_not_grow_the_buffer() -> None:
    parser = FrameParser()
    for _ in range(200):  # 200 x 64 KB with no LF at all
        assert parser.feed(b"y" * 65_536) == []
    assert len(parser._partial) == 0
    items = parser.feed(b"tail\r\n\r\nAction: Ping\r\n\r\n")
    assert items == [FrameError(LINE_TOO_LONG), Message((("Action", "Ping"),))]


def test_too_many_keys_is_an_error() -> None:
    body = b"".join(b"K%d: v\r\n" % i for i in range(MAX_KEYS + 5))
    assert parse_all(b"ActionID: 9\r\n" + body + b"\r\n") == [FrameError(TOO_MANY_KEYS, "9")]


def test_line_without_colon_is_malformed() -> None:
    items = parse_all(b"Action: Ping\r\nthis is not a header\r\n\r\nAction: Ping\r\n\r\n")
    assert items == [FrameError(MALFORMED_LINE), Message((("Action", "Ping"),))]


def test_non_utf8_bytes_are_replaced_and_flagged() -> None:
    message = only_message(b"Action: Ping\r\nCallerIDName: Jos\xe9\r\n\r\n")
    assert message.lossy
    assert message.get("CallerIDName") == "Jos\ufffd"
    assert not only_message("CallerIDName: José\r\n\r\n".encode()).lossy
    assert INVALID_UTF8.startswith("Failed to parse message")


def test_encode_uses_crlf_and_strips_injection() -> None:
    data = encode([("Action", "Hangup"), ("Channel", "X\r\n\r\nAction: Logoff")])
    assert data == b"Action: Hangup\r\nChannel: X    Action: Logoff\r\n\r\n"
    assert only_message(data).get("Channel") == "X    Action: Logoff"


@pytest.mark.parametrize("key", ["", "A:B", "A\nB", " A"])
def test_encode_rejects_bad_keys(key: str) -> None:
    with pytest.raises(ValueError):
        encode([(key, "v")])


keys = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    min_size=1,
    max_size=20,
)
# Values as the parser returns them: no CR/LF, no leading blanks.
values = (
    st.text(max_size=60)
    .map(lambda v: v.replace("\r", "").replace("\n", "").lstrip(" \t"))
    .filter(lambda v: "\r" not in v and "\n" not in v)
)
messages = st.lists(st.tuples(keys, values), min_size=1, max_size=12)


@given(st.lists(messages, min_size=1, max_size=5), st.integers(min_value=1, max_value=50))
@settings(max_examples=150, deadline=None)
def test_encode_then_parse_round_trips(batch: list[list[tuple[str, str]]], chunk: int) -> None:
    data = b"".join(encode(pairs) for pairs in batch)
    parser = FrameParser()
    results: list[Message | FrameError] = []
    for start in range(0, len(data), chunk):
        results.extend(parser.feed(data[start : start + chunk]))
    assert [r.pairs for r in results if isinstance(r, Message)] == [tuple(p) for p in batch]
    assert len(results) == len(batch)


@given(st.lists(st.binary(max_size=300), max_size=20))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_never_raise(chunks: list[bytes]) -> None:
    parser = FrameParser(max_line_bytes=64, max_keys=4)
    for chunk in chunks:
        for item in parser.feed(chunk):
            assert isinstance(item, Message | FrameError)
        assert len(parser._partial) <= 65
    # Whatever came before, a clean message after a blank line is parsed again.
    tail = parser.feed(b"\r\n\r\nAction: Ping\r\n\r\n")
    assert tail[-1] == Message((("Action", "Ping"),))


@given(values)
def test_any_value_stays_inside_its_frame(value: str) -> None:
    dirty = value + "\r\n\r\nEvent: Forged\r\n"
    items = parse_all(encode([("Action", "Ping"), ("Data", dirty)]))
    assert len(items) == 1
    assert isinstance(items[0], Message)
    assert items[0].get("Event") == ""


def _reference_encode(pairs: list[tuple[str, str]]) -> bytes:
    # The codec as first written (one f-string per pair): the fast path must match it.
    text = ""
    for key, value in pairs:
        if not key or key != key.strip() or any(c in key for c in ":\r\n"):
            raise ValueError(key)
        text += f"{key}: {value.replace(chr(13), ' ').replace(chr(10), ' ')}\r\n"
    return (text + "\r\n").encode("utf-8", errors="replace")


any_keys = st.one_of(keys, st.text(max_size=6))


@given(st.lists(st.tuples(any_keys, st.text(max_size=40)), max_size=8))
@settings(max_examples=400, deadline=None)
def test_encode_matches_the_plain_algorithm(pairs: list[tuple[str, str]]) -> None:
    try:
        expected = _reference_encode(pairs)
    except ValueError:
        with pytest.raises(ValueError):
            encode(pairs)
        return
    assert encode(pairs) == expected
    assert encode(iter(pairs)) == expected  # any iterable, and again once keys are known
    assert encode(tuple(pairs)) == expected


@pytest.mark.parametrize("bad", [[("A", 1)], [("A", None)], [("A",)], [("A", "b", "c")]])
def test_encode_refuses_malformed_pairs(bad: list[tuple[object, ...]]) -> None:
    encode([("A", "warm the key cache")])
    with pytest.raises((TypeError, ValueError)):
        encode(bad)  # type: ignore[arg-type]
