"""Sanitising untrusted text at the boundary: no control codes, no bidi overrides reach the UI.

Rendering must still treat the result as plain text (rich `Text`, Textual `Content`): this module
removes what is dangerous to a terminal, it does not make text safe to parse as markup.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls except TAB/LF, DEL, C1 controls; bidi embeddings/overrides/isolates;
# zero-width joiners are kept (needed by some scripts), the line/paragraph separators are not.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
# A whole ANSI/VT escape sequence (CSI, OSC, DCS…), so no fragment like "[31m" survives.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|[PX^_][^\x1b]*(?:\x1b\\)?|[@-Z\\-_])"
    r"|\x9b[0-?]*[ -/]*[@-~]|\x9d[^\x07\x9c]*[\x07\x9c]?"
)

_NEWLINES = re.compile(r"\r\n?")


def clean_text(value: object, *, max_length: int | None = None, single_line: bool = False) -> str:
    """Return `value` as a string without escape sequences, control codes or bidi overrides.

    `single_line` also turns newlines and tabs into spaces (names, subjects, caller ID names).
    `max_length` truncates with an ellipsis.
    """
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if text.isprintable() and (max_length is None or len(text) <= max_length):
        return text  # the common case, checked in C: no controls, no bidi/format characters
    if "\x1b" in text or "\x9b" in text or "\x9d" in text:
        text = _ESCAPE_SEQUENCE.sub("", text)
    text = _UNSAFE.sub("", text)
    text = " ".join(text.split()) if single_line else _NEWLINES.sub("\n", text)
    text = unicodedata.normalize("NFC", text)
    if max_length is not None and len(text) > max_length:
        text = text[: max(0, max_length - 1)] + "…"
    return text


def excerpt(value: object, length: int = 80) -> str:
    """A one-line excerpt of free text (notes in history tables)."""
    return clean_text(value, max_length=length, single_line=True)


def stored_text(value: object, max_length: int = 200) -> str:
    """Text read back from the database for display: one line, sanitised, at most
    ``max_length`` characters (None and empty become "")."""
    return clean_text(value or "", single_line=True, max_length=max_length)
