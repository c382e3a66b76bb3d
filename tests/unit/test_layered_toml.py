"""The one "shipped defaults + the user's file" loader that rules and targets share."""

from __future__ import annotations

from pathlib import Path

import pytest

from callkit.layered_toml import load_layers, read_user_file
from console.services.routing.routing_rules import RulesError
from console.services.routing.rules_file import load_rules
from console.services.supervision.queue_targets import TargetsError, load_targets


class _Bad(ValueError):
    pass


def _parse_lines(source: str, text: str, shipped: bool) -> tuple[str, int, bool]:
    return (Path(source).name, len(text.splitlines()), shipped)


def test_shipped_and_user_layers_are_parsed_with_their_own_names(tmp_path: Path) -> None:
    user = tmp_path / "mine.toml"
    user.write_text("a = 1\nb = 2\n")
    layers = load_layers("console", "queue_targets.toml", user, _parse_lines, _Bad)
    assert layers.shipped[0] == "queue_targets.toml"
    assert layers.shipped[2] is True
    assert layers.user == ("mine.toml", 2, False)
    assert load_layers("console", "queue_targets.toml", None, _parse_lines, _Bad).user is None


def test_the_shipped_file_is_parsed_once(tmp_path: Path) -> None:
    calls: list[str] = []

    def parse(source: str, text: str, shipped: bool) -> int:
        calls.append(source)
        return len(text)

    first = load_layers("console", "routing_defaults.toml", None, parse, _Bad)
    second = load_layers("console", "routing_defaults.toml", None, parse, _Bad)
    assert first.shipped == second.shipped
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), (b"\xff\xfe rules", "not a UTF-8 text file")],
)
def test_an_unreadable_user_file_is_one_line_of_the_callers_error(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "user.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(_Bad) as caught:
        read_user_file(path, _Bad)
    assert str(caught.value) == f"{path}: {message}"
    # Both users of the loader give the same words, each with its own error type.
    with pytest.raises(RulesError) as rules:
        load_rules(str(path))
    with pytest.raises(TargetsError) as targets:
        load_targets(path)
    assert str(rules.value) == str(targets.value) == f"{path}: {message}"


def test_a_directory_is_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(_Bad, match=rf"^{tmp_path}: cannot read: "):
        read_user_file(tmp_path, _Bad)
