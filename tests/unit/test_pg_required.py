"""CI fails, rather than skips, the PostgreSQL tests when no server can start."""

from __future__ import annotations

import pytest

from tests.pg import REQUIRE_ENV, unavailable


def test_a_developer_without_postgresql_gets_a_skip_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="initdb not found"):
        unavailable("initdb not found")


def test_under_ci_a_missing_server_fails_the_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="initdb not found"):
        unavailable("initdb not found")
