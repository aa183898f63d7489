"""What serve and worker say at start: the database, queue and mailer, never a password, and
plainly when nothing leaves the machine."""

from __future__ import annotations

from pathlib import Path

from composition.banner import describe
from composition.logs import JsonLines
from composition.settings import Settings


def test_the_log_mailer_says_nothing_leaves_and_where_messages_go(tmp_path):
    lines = describe(Settings(data_dir=tmp_path))
    assert lines[0].endswith(f"SQLite at {tmp_path / 'autorelay.db'}")
    assert "SQLite queue" in lines[1]
    assert "NOTHING LEAVES THIS MACHINE" in lines[2] and str(tmp_path / "mail") in lines[2]


def test_urls_are_shown_without_their_passwords(tmp_path):
    settings = Settings(
        data_dir=Path(tmp_path),
        database_url="postgresql://app:s3cret-db@db.internal:5432/mail",
        redis_url="redis://:s3cret-redis@cache.internal:6379/0",
        mailer="smtp",
        smtp_host="smtp.example.com",
        smtp_username="user",
        smtp_password="s3cret-smtp",
    )
    text = "\n".join(describe(settings))
    assert "PostgreSQL at postgresql://db.internal:5432/mail" in text
    assert "Redis at redis://cache.internal:6379/0" in text and "SMTP to smtp.example.com:587" in text
    assert "s3cret" not in text


def test_json_logs_are_one_object_per_line():
    import json
    import logging

    record = logging.LogRecord("autorelay.outbox", logging.WARNING, __file__, 1, "email %s failed", ("em_1",), None)
    line = json.loads(JsonLines().format(record))
    assert (
        line["level"] == "warning" and line["logger"] == "autorelay.outbox" and line["message"] == "email em_1 failed"
    )


def test_the_cli_says_its_version(capsys):
    import pytest

    from composition.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("autorelay 0.")


def test_every_flag_and_argument_of_every_command_is_described():
    import argparse

    from composition.cli import parser

    def walk(command: argparse.ArgumentParser, path: str) -> list[str]:
        missing = []
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    missing += walk(sub, f"{path} {name}")
            elif action.help is None and not isinstance(action, argparse._HelpAction):
                missing.append(f"{path} {action.dest}")
        return missing

    assert walk(parser(), "autorelay") == []
