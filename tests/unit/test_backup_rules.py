"""What backup and restore refuse, before touching anything."""

from __future__ import annotations

import pytest

from composition.backup import backup, restore
from composition.settings import Settings, SettingsError


def test_postgres_installs_are_pointed_at_pg_dump(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url="postgresql://app@db/mail")
    with pytest.raises(SettingsError, match="pg_dump"):
        backup(settings, tmp_path / "backup")
    with pytest.raises(SettingsError, match="pg_dump"):
        restore(settings, tmp_path / "backup")


def test_a_restore_never_overwrites_a_data_dir_in_use(tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "autorelay-backup.json").write_text("{}")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "autorelay.db").write_bytes(b"live data")
    with pytest.raises(SettingsError, match="not empty"):
        restore(Settings(data_dir=tmp_path / "data"), tmp_path / "backup")
    assert (tmp_path / "data" / "autorelay.db").read_bytes() == b"live data"
