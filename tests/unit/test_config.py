"""Settings: the wrap-up dispositions are configurable; bad settings are one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.config import SettingsError, load_settings

DISPOSITIONS = """
wrap_up_seconds = 90

[[dispositions]]
code = "sold"
label = "Sale made"

[[dispositions]]
code = "complaint"
label = "Complaint logged"
requires_ticket = true
"""


def test_dispositions_come_from_the_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(DISPOSITIONS)
    settings = load_settings(config)
    assert settings.wrap_up_seconds == 90
    assert settings.dispositions is not None
    assert [d.code for d in settings.dispositions] == ["sold", "complaint"]
    assert settings.dispositions[1].requires_ticket


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (DISPOSITIONS.replace('"complaint"', '"sold"'), "unique"),
        ('[[dispositions]]\ncode = "Bad Code!"\nlabel = "x"\n', "dispositions"),
        ("wrap_up_seconds = 2\n", "wrap_up_seconds"),
    ],
)
def test_bad_settings_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(text)
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings(config)
    assert "\n" not in str(caught.value)
