"""Settings: the wrap-up dispositions are configurable; bad settings are one clear line."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

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
    assert settings.desk.wrap_up_seconds == 90
    assert settings.desk.dispositions is not None
    assert [d.code for d in settings.desk.dispositions] == ["sold", "complaint"]
    assert settings.desk.dispositions[1].requires_ticket


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


# ------------------------------------------------------------------ nested schema and secrets

NESTED = """
[database]
url = "postgresql://clerk:db-pass-42@db.example.com/callcentre"

[pbx]
host = "pbx.example.com"
port = 5039
secret = "ami-pass-42"

[desk]
wrap_up_seconds = 45
"""


def test_nested_sections_are_read(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(NESTED)
    settings = load_settings(config)
    assert (settings.pbx.host, settings.pbx.port, settings.pbx.user) == (
        "pbx.example.com",
        5039,
        "callconsole",
    )
    assert settings.desk.wrap_up_seconds == 45
    assert settings.database.display_url == "postgresql://clerk:***@db.example.com/callcentre"


def test_flat_keys_of_earlier_versions_still_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('ami_host = "old.example.com"\nwrap_up_seconds = 60\nsl_threshold = 30\n')
    monkeypatch.setenv("CALLCONSOLE_AMI_PORT", "6000")
    monkeypatch.setenv("CALLCONSOLE_PBX__USER", "nested-env")
    settings = load_settings(config, db_url="sqlite:///x.db")
    assert settings.pbx.host == "old.example.com"
    assert settings.pbx.port == 6000
    assert settings.pbx.user == "nested-env"
    assert settings.desk.wrap_up_seconds == 60
    assert settings.metric_definitions().sl_threshold == 30
    assert settings.database.url.get_secret_value() == "sqlite:///x.db"


def test_environment_beats_the_file_and_flags_beat_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(NESTED)
    monkeypatch.setenv("CALLCONSOLE_PBX__HOST", "env.example.com")
    monkeypatch.setenv("CALLCONSOLE_DB_URL", "sqlite:///env.db")
    settings = load_settings(config, db_url="sqlite:///flag.db")
    assert settings.pbx.host == "env.example.com"
    assert settings.database.url.get_secret_value() == "sqlite:///flag.db"


def test_one_setting_given_both_ways_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('ami_host = "a"\n[pbx]\nhost = "b"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert str(caught.value) == f"{config}: ami_host and [pbx] host are the same setting; keep one"


def test_an_unknown_key_in_a_section_is_named(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('[pbx]\nhots = "a"\n')
    with pytest.raises(SettingsError, match=r"^invalid setting pbx\.hots: Extra inputs"):
        load_settings(config)


def test_secrets_never_show_in_repr_str_or_errors(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(NESTED)
    settings = load_settings(config)
    for shown in (repr(settings), str(settings), repr(settings.pbx), str(settings.database)):
        assert "ami-pass-42" not in shown
        assert "db-pass-42" not in shown
    assert settings.pbx.secret.get_secret_value() == "ami-pass-42"
    assert "db-pass-42" in settings.database.url.get_secret_value()
    # A bad value next to a secret: the message names the key, never the secret.
    config.write_text(NESTED.replace("port = 5039", "port = 99999"))
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert "pbx.port" in str(caught.value)
    assert "ami-pass-42" not in str(caught.value)
    config.write_text(NESTED.replace('secret = "ami-pass-42"', "secret = ['ami-pass-42']"))
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert "pbx.secret" in str(caught.value)
    assert "ami-pass-42" not in str(caught.value)


def test_pbx_address_hides_the_secret() -> None:
    from console.factory import PbxAddress

    address = PbxAddress("127.0.0.1", 5038, "agent", "ami-pass-42")
    assert "ami-pass-42" not in repr(address)
    assert isinstance(address.secret, SecretStr)
    assert address.secret.get_secret_value() == "ami-pass-42"


async def test_the_ami_login_sends_the_real_secret_and_nothing_shows_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A PBX that refuses the login: it received the real secret; the error, the client's
    repr and the log lines do not contain it."""
    from callkit.ami_frames import FrameParser, Message, encode
    from console.cti.ami import AmiAuthError, AmiClient

    received: list[dict[str, str]] = []

    async def pbx(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        parser = FrameParser()
        while not received:
            data = await reader.read(4096)
            if not data:
                break
            for message in parser.feed(data):
                if not isinstance(message, Message):
                    continue
                received.append({k: message.get(k) or "" for k in ("Action", "Secret", "ActionID")})
        action_id = received[0]["ActionID"] if received else ""
        writer.write(
            encode(
                [
                    ("Response", "Error"),
                    ("ActionID", action_id),
                    ("Message", "Authentication failed"),
                ]
            )
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(pbx, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = tmp_path / "settings.toml"
    config.write_text(
        NESTED.replace("port = 5039", f"port = {port}").replace('"pbx.example.com"', '"127.0.0.1"')
    )
    settings = load_settings(config)
    client = AmiClient(settings.pbx.host, settings.pbx.port, settings.pbx.user, settings.pbx.secret)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(AmiAuthError) as caught:
            await asyncio.wait_for(client.start(), 10)
    finally:
        await client.close()
        server.close()
    assert received[0]["Action"] == "Login"
    assert received[0]["Secret"] == "ami-pass-42"
    assert "ami-pass-42" not in str(caught.value)
    assert "ami-pass-42" not in repr(client)
    assert "ami-pass-42" not in caplog.text


def test_a_postgresql_consoles_pool_comes_from_the_settings(tmp_path: Path) -> None:
    """Seats x (pool_size + pool_max_overflow) must fit max_connections (docs/seats.md): a
    site sets them, and the console's engine keeps to them."""
    import argparse

    from console.cli_common import configured_database

    config = tmp_path / "settings.toml"
    config.write_text(
        '[database]\nurl = "postgresql://cc@db.example/cc"\npool_size = 2\npool_max_overflow = 3\n'
    )
    assert load_settings(config).database.pool_max_overflow == 3
    database = configured_database(argparse.Namespace(config=config, db=None))
    pool: Any = database.engine.pool
    assert pool.size() == 2
    asyncio.run(database.dispose())
