"""Untrusted text is cleaned at the boundary: no control codes, no bidi overrides."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from console.services.text import clean_text

BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def terminal_safe(text: str, allowed: str = "") -> bool:
    """No C0/C1 control (but `allowed`), no bidi control, no line/paragraph separator."""
    return all(
        ch in allowed
        or (
            unicodedata.category(ch) != "Cc"
            and ch not in BIDI_CONTROLS
            and ch not in "\u2028\u2029"
        )
        for ch in text
    )


def test_ansi_and_osc_sequences_are_removed() -> None:
    assert clean_text("\x1b[31mRed\x1b[0m \x1b]0;title\x07Name") == "Red Name"


def test_bidi_overrides_and_c1_controls_are_removed() -> None:
    assert clean_text("abc\u202edcba\x85\x9b") == "abcdcba"


def test_markup_looking_text_is_kept_verbatim() -> None:
    assert clean_text("[bold]hi[/] [/") == "[bold]hi[/] [/"


def test_single_line_and_max_length() -> None:
    assert clean_text("a\nb\tc", single_line=True) == "a b c"
    assert clean_text("x" * 10, max_length=5) == "xxxx…"


@given(st.text())
def test_output_never_carries_control_codes(raw: str) -> None:
    assert terminal_safe(clean_text(raw), allowed="\n\t")
    assert terminal_safe(clean_text(raw, single_line=True))


def test_every_notification_is_plain_text() -> None:
    """Textual's notify() parses markup by default; ours carry error and customer text."""
    import ast
    from pathlib import Path

    import console

    missing = []
    for path in Path(console.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "notify"
            ):
                plain = any(
                    k.arg == "markup"
                    and isinstance(k.value, ast.Constant)
                    and k.value.value is False
                    for k in node.keywords
                )
                if not plain:
                    missing.append(f"{path.name}:{node.lineno}")
    assert not missing, missing
