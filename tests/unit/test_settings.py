"""Settings are checked when a process starts: a wrong value stops it with a message naming the
variable (and never echoing a password)."""

from __future__ import annotations

import pytest

from composition.secret import server_secret
from composition.settings import Settings, SettingsError


def settings(**env: str) -> Settings:
    return Settings.from_env({f"AUTORELAY_{k.upper()}": v for k, v in env.items()})


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"mailer": "smpt"}, "AUTORELAY_MAILER='smpt' is not a known mailer"),
        ({"mailer": "smtp"}, "needs AUTORELAY_SMTP_HOST"),
        ({"mailer": "smtp", "smtp_host": "mx", "smtp_security": "ssl"}, "AUTORELAY_SMTP_SECURITY"),
        ({"mailer": "smtp", "smtp_host": "mx", "smtp_username": "u"}, "go together"),
        ({"database_url": "mysql://root:hunter2@db/x"}, "AUTORELAY_DATABASE_URL"),
        ({"database_pool_size": "0"}, "AUTORELAY_DATABASE_POOL_SIZE"),
        ({"smtp_port": "many"}, "invalid AutoRelay setting"),
        ({"heartbeat_seconds": "0"}, "AUTORELAY_HEARTBEAT_SECONDS must be at least 0.1"),
        ({"sqlite_synchronous": "off"}, "AUTORELAY_SQLITE_SYNCHRONOUS must be full or normal"),
        ({"smtp_relay_message_id": "drop"}, "AUTORELAY_SMTP_RELAY_MESSAGE_ID must be keep or replace"),
        ({"delivery_process": "yes"}, "AUTORELAY_DELIVERY_PROCESS must be auto, on or off"),
        ({"delivery_process": "on", "database_url": "memory://"}, "needs a database another process can open"),
        ({"keep_received_days": "-1"}, "AUTORELAY_KEEP_RECEIVED_DAYS must be 0 or more"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(env, named):
    with pytest.raises(SettingsError, match=named.replace("(", r"\(")) as refused:
        settings(**env)
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(
    ("env", "cores", "separate"),
    [
        ({}, 2, True),  # the default on a machine with more than one core
        ({}, 1, False),  # one core: a second process would only take turns with the first
        ({"delivery_process": "on"}, 1, True),
        ({"delivery_process": "off"}, 8, False),
        ({"embedded_workers": "0"}, 8, False),  # workers run elsewhere: serve delivers nothing
        ({"database_url": "memory://"}, 8, False),  # nothing else can open its database
    ],
)
def test_serve_delivers_in_a_process_of_its_own_where_that_uses_the_machine(env, cores, separate):
    assert settings(**env).separate_delivery(cores) is separate


def test_the_smtp_password_never_shows_in_a_repr():
    configured = settings(mailer="smtp", smtp_host="mx", smtp_username="u", smtp_password="hunter2")
    assert "hunter2" not in repr(configured)


def test_the_server_secret_is_made_once_per_data_dir_and_required_with_postgres(tmp_path):
    first = server_secret(settings(data_dir=str(tmp_path)))
    assert len(first) == 64 and server_secret(settings(data_dir=str(tmp_path))) == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0, "readable by the owner only"
    with pytest.raises(SettingsError, match="AUTORELAY_SECRET_KEY is required"):
        server_secret(settings(data_dir=str(tmp_path), database_url="postgresql://db/x"))
    with pytest.raises(SettingsError, match="at least 32"):
        server_secret(settings(secret_key="short"))
    assert server_secret(settings(secret_key="k" * 40)) == b"k" * 40


def test_the_spf_record_names_where_mail_really_leaves_from(tmp_path):
    from composition.build import _spf
    from composition.settings import Settings, SettingsError

    assert _spf(Settings.defaults(data_dir=tmp_path)) == "v=spf1 mx ~all"
    relayed = Settings.defaults(
        data_dir=tmp_path, mailer="smtp", smtp_host="smtp.example", smtp_spf_include="spf.relay.example"
    )
    assert _spf(relayed) == "v=spf1 include:spf.relay.example ~all"
    with pytest.raises(SettingsError, match="without 'include:'"):
        Settings.defaults(data_dir=tmp_path, smtp_spf_include="include:spf.relay.example")


def test_received_mail_is_kept_until_deleted_unless_a_number_of_days_is_set(tmp_path):
    from datetime import timedelta

    from composition.build import build
    from composition.settings import Settings

    for days, kept in (("0", None), ("45", timedelta(days=45))):
        services = build(Settings.defaults(data_dir=tmp_path, database_url="memory://", keep_received_days=days))
        assert services.deps.config.keep_received == kept
