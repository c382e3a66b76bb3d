"""One loader for "shipped defaults + the user's file" (routing rules, queue targets).

The shipped file is a package resource, parsed once per process; the user's file is read
fresh each time, and a file that cannot be read is one ``PATH: reason`` error of the caller's
type. Merging the two layers stays with the caller (rules replace by name, targets key by key).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Generic, TypeVar

_T = TypeVar("_T")

#: parse(source, text, shipped) -> the parsed file; errors carry ``source:line:``.
Parser = Callable[[str, str, bool], _T]


@dataclass(frozen=True, slots=True)
class Layers(Generic[_T]):
    """The shipped defaults and the user's file over them (None when there is none)."""

    shipped: _T
    user: _T | None


def read_user_file(path: str | Path, error: type[ValueError]) -> str:
    """The text of the user's file; ``error("PATH: reason")`` if it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not a UTF-8 text file") from None


def load_layers(
    package: str,
    resource: str,
    user: str | Path | None,
    parse: Parser[_T],
    error: type[ValueError],
) -> Layers[_T]:
    """``package``'s ``data/<resource>`` and the user's file at ``user``, each parsed."""
    shipped = _shipped(package, resource, parse)
    if user is None:
        return Layers(shipped, None)
    return Layers(shipped, parse(str(user), read_user_file(user, error), False))


@functools.cache
def _shipped(package: str, resource: str, parse: Parser[_T]) -> _T:
    found = resources.files(package) / "data" / resource
    return parse(str(found), found.read_text(encoding="utf-8"), True)
