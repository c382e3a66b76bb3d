"""Screen workers that outlive their widgets: the console closing while a load is in flight.

A screen's worker awaits the database, then draws. If the console closes (or the screen is
taken away) during the await, Textual removes the screen's widgets before it cancels the
worker, and the draw's `query_one` raises `NoMatches`, which would fail the app on its way
out. `while_shown` lets exactly that case go quietly; a `NoMatches` on a screen whose widgets
are still there is a real bug and still raises.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from textual.css.query import NoMatches
from textual.screen import Screen

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound=Screen)  # type: ignore[type-arg]


def while_shown(
    method: Callable[Concatenate[S, P], Awaitable[R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R | None]]:
    """Run a screen's async method; if its widgets vanished under it, stop quietly (None)."""

    @functools.wraps(method)
    async def run(screen: S, /, *args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return await method(screen, *args, **kwargs)
        except NoMatches:
            if screen.children:  # the widgets are there: a real bug, let it show
                raise
            return None

    return run
