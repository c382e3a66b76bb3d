"""Calling windows in the callee's local time: the shipped rules, DST, ambiguous zones, files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.services.outbound.windows import WindowsError
from console.services.outbound.windows_file import load_windows

WINDOWS = load_windows()
NEW_YORK = "+12125550123"
MIAMI = "+13055550123"
PARIS = "+33612345678"
SYDNEY = "+61212345678"
AU_MOBILE = "+61412345678"  # eight zones, from Indian/Cocos (+6:30) to Lord Howe (+10:30/+11)
TOLL_FREE = "+18005550123"  # every NANP zone, Guam to Pago Pago
TORONTO = "+14165550123"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def is_open(number: str, at: datetime) -> bool:
    return WINDOWS.check(number, at).open


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # 2026-03-08, 02:00 EST -> 03:00 EDT. 08:00 local is 13:00 UTC the day before, 12:00
        # UTC that day; a fixed EST offset would get the morning wrong by an hour.
        (utc(2026, 3, 7, 12, 30), False),  # 07:30 EST
        (utc(2026, 3, 7, 13, 0), True),  # 08:00 EST
        (utc(2026, 3, 8, 11, 59), False),  # 07:59 EDT
        (utc(2026, 3, 8, 12, 0), True),  # 08:00 EDT (07:00 by the old offset)
        (utc(2026, 3, 9, 0, 59), True),  # 20:59 EDT
        (utc(2026, 3, 9, 1, 0), False),  # 21:00 EDT: the end is excluded
        # 2026-11-01, 02:00 EDT -> 01:00 EST.
        (utc(2026, 11, 1, 12, 30), False),  # 07:30 EST (08:30 by the old offset)
        (utc(2026, 11, 1, 13, 0), True),  # 08:00 EST
        (utc(2026, 11, 2, 1, 30), True),  # 20:30 EST (21:30 by the old offset)
        (utc(2026, 11, 2, 2, 0), False),  # 21:00 EST
        (utc(2026, 11, 1, 5, 30), False),  # 01:30 EDT, the hour that happens twice
        (utc(2026, 11, 1, 6, 30), False),  # 01:30 EST, its second time
    ],
)
def test_us_window_follows_new_york_across_both_dst_changes(at: datetime, expected: bool) -> None:
    assert is_open(NEW_YORK, at) is expected


def test_france_closes_for_lunch_weekends_and_holidays_and_follows_its_own_dst() -> None:
    # Monday 2026-10-26, the day after Europe's fall-back: 10:00 CET is 09:00 UTC.
    assert not is_open(PARIS, utc(2026, 10, 26, 8, 30))  # 09:30 CET (10:30 by CEST)
    assert is_open(PARIS, utc(2026, 10, 26, 9, 0))
    assert not is_open(PARIS, utc(2026, 10, 26, 12, 30))  # 13:30: the lunch break
    assert is_open(PARIS, utc(2026, 10, 26, 13, 0))  # 14:00
    assert not is_open(PARIS, utc(2026, 10, 24, 10, 0))  # a Saturday
    assert not is_open(PARIS, utc(2026, 11, 11, 10, 0))  # Armistice Day, a Wednesday
    check = WINDOWS.check(PARIS, utc(2026, 11, 11, 10, 0))
    assert "2026-11-11 is closed under France" in check.detail
    assert check.next_open == utc(2026, 11, 12, 9, 0)


def test_australia_after_dst_ends_and_on_a_public_holiday() -> None:
    # 2026-04-05 Sydney leaves AEDT (+11) for AEST (+10); the 6th is Easter Monday.
    assert not is_open(SYDNEY, utc(2026, 4, 5, 23, 0))  # Easter Monday 09:00
    assert not is_open(SYDNEY, utc(2026, 4, 6, 22, 30))  # Tue 08:30 AEST (09:30 AEDT)
    assert is_open(SYDNEY, utc(2026, 4, 6, 23, 0))  # Tue 09:00 AEST
    assert not is_open(SYDNEY, utc(2026, 4, 11, 7, 0))  # Sat 17:00: Saturdays end at 17:00
    assert not is_open(SYDNEY, utc(2026, 4, 12, 0, 0))  # Sunday


def test_a_number_in_several_zones_must_be_inside_the_window_in_all_of_them() -> None:
    # Tuesday 2026-04-07 (AEST). At 00:00 UTC Sydney is at 10:00 but Perth at 08:00.
    check = WINDOWS.check(AU_MOBILE, utc(2026, 4, 7, 0, 0))
    assert not check.open and len(check.zones) == 8
    assert "one of 8 zones" in check.detail
    assert is_open(SYDNEY, utc(2026, 4, 7, 0, 0))
    # Cocos (+6:30) reaches 09:00 at 02:30 UTC; Lord Howe (+10:30) 20:00 at 09:30 UTC.
    assert check.next_open == utc(2026, 4, 7, 2, 30)
    assert not is_open(AU_MOBILE, utc(2026, 4, 7, 2, 29))
    assert is_open(AU_MOBILE, utc(2026, 4, 7, 2, 30))
    assert is_open(AU_MOBILE, utc(2026, 4, 7, 9, 29))
    assert not is_open(AU_MOBILE, utc(2026, 4, 7, 9, 30))


def test_a_toll_free_number_is_checked_in_every_zone_of_the_plan() -> None:
    # Guam (+10) and Pago Pago (-11): 08:00 in Guam is 11:00 the day before in Pago Pago.
    check = WINDOWS.check(TOLL_FREE, utc(2026, 6, 2, 16, 0))  # 06:00 in Los Angeles
    assert not check.open and len(check.zones) > 40
    # Open once it is 08:00 in Guam (+10) = 22:00 UTC, when Pago Pago (-11) is at 11:00.
    assert check.next_open == utc(2026, 6, 2, 22, 0)
    assert is_open(TOLL_FREE, check.next_open)
    assert not is_open(TOLL_FREE, utc(2026, 6, 2, 21, 59))


def test_a_number_without_a_known_zone_is_never_inside_a_window() -> None:
    for number in ("+80012345678", "+88213000001"):
        check = WINDOWS.check(number, utc(2026, 6, 2, 15, 0))
        assert not check.open and check.zones == ()
        assert "unknown" in check.detail and check.next_open is None


def test_a_prefix_rule_narrows_its_region_and_the_default_covers_the_rest() -> None:
    evening = utc(2026, 6, 3, 0, 30)  # Tue 20:30 EDT in both New York and Miami
    assert is_open(NEW_YORK, evening)
    check = WINDOWS.check(MIAMI, evening)
    assert not check.open and "Florida" in check.detail
    # Canada: weekends 10:00-18:00; Germany has no rule: the house default, no Sundays.
    assert not is_open(TORONTO, utc(2026, 6, 6, 13, 30))  # Sat 09:30 EDT
    assert is_open(TORONTO, utc(2026, 6, 6, 14, 0))
    berlin = "+493012345678"
    assert is_open(berlin, utc(2026, 6, 2, 10, 0))
    assert not is_open(berlin, utc(2026, 6, 7, 10, 0))
    assert "house default" in WINDOWS.check(berlin, utc(2026, 6, 7, 10, 0)).detail


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        WINDOWS.check(NEW_YORK, datetime(2026, 6, 2, 12, 0))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "windows.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_users_file_replaces_rules_by_name_and_adds_its_own(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[default]
name = "ours"
source = "house policy"
weekdays = ["10:00-16:00"]

[[rules]]
name = "US TCPA"
regions = ["US"]
source = "stricter than the law"
every_day = ["09:00-20:00"]

[[rules]]
name = "Oklahoma"
prefixes = ["+1405", "+1918"]
source = "Oklahoma Telephone Solicitation Act"
every_day = ["08:00-20:00"]
""",
    )
    windows = load_windows(path)
    assert [r.name for r in windows.rules][:2] == ["US TCPA", "Oklahoma"]
    assert not windows.check(NEW_YORK, utc(2026, 6, 2, 12, 30)).open  # 08:30: now closed
    assert not windows.check("+493012345678", utc(2026, 6, 2, 7, 30)).open  # 09:30 Berlin
    assert windows.check("+493012345678", utc(2026, 6, 2, 8, 0)).open
    assert not windows.rules[0].shipped and windows.rules[-1].shipped


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            '[[rules]]\nname = "x"\nregions = ["US"]\nsource = "s"\nevery_day = ["21:00-08:00"]\n',
            5,
            "rules[1].every_day[1]: '21:00-08:00' ends before it starts",
        ),
        (
            '[[rules]]\nname = "x"\nregions = ["US", "XX"]\nsource = "s"\nweekdays = []\n',
            3,
            "rules[1].regions[2]: unknown region 'XX'",
        ),
        (
            '[[rules]]\nname = "x"\nsource = "s"\nweekdays = ["09:00-17:00"]\n',
            1,
            "rules[1]: a rule needs regions or prefixes",
        ),
        (
            '[[rules]]\nname = "x"\nregions = ["FR"]\nsource = "s"\nweekday = ["09:00-17:00"]\n',
            5,
            "unknown key 'weekday'",
        ),
        (
            '[[rules]]\nname = "x"\nprefixes = ["1305"]\nsource = "s"\nweekdays = []\n',
            3,
            "is not an E.164 prefix",
        ),
        ("[default]\nname = \n", 2, "TOML syntax error"),
    ],
)
def test_a_bad_file_is_one_error_naming_its_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(WindowsError) as info:
        load_windows(path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert message in str(info.value)


def test_a_missing_file_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(WindowsError, match="no such file"):
        load_windows(tmp_path / "nope.toml")


def test_the_shipped_rules_name_their_sources() -> None:
    for rule in (WINDOWS.default, *WINDOWS.rules):
        assert rule.source and rule.shipped
    assert {r.name for r in WINDOWS.rules} >= {"US TCPA", "Canada CRTC", "France"}
