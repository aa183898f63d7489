"""`autorelay backup DEST` and `autorelay restore SRC` for the embedded profile (SQLite).

A backup is a folder: the database copied with SQLite's online backup API (a consistent snapshot
taken while the server keeps writing; every email accepted before the backup began is in it), the
server secret (without it sealed one-time-code bodies cannot be opened), and the folders of files
(assets, the log mailer's messages, kept copies). The queue file is not copied: its jobs are only
wake-ups, and the outbox rows they would wake are in the database (the reconciler finds them).

PostgreSQL installs back up with pg_dump and keep AUTORELAY_SECRET_KEY; see docs/OPERATIONS.md.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from composition.private_files import private_dir
from composition.settings import Settings, SettingsError

FOLDERS = ("assets", "mail", "messages")
MANIFEST = "autorelay-backup.json"


def _require_sqlite(settings: Settings) -> Path:
    if settings.sqlite_path is None:
        raise SettingsError(
            "backup and restore cover the embedded profile (SQLite); back PostgreSQL up with pg_dump and keep"
            " AUTORELAY_SECRET_KEY (see Backups in docs/OPERATIONS.md)"
        )
    return settings.sqlite_path


def _empty_or_new(folder: Path, what: str) -> None:
    if folder.exists() and any(folder.iterdir()):
        raise SettingsError(f"{what} {folder} is not empty; choose a new folder")


def backup(settings: Settings, destination: Path) -> dict:
    database = _require_sqlite(settings)
    if not database.exists():
        raise SettingsError(f"no database at {database} to back up")
    _empty_or_new(destination, "the backup folder")
    private_dir(destination)
    started = time.monotonic()
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(destination / "autorelay.db")
    try:
        # Pages in steps, so the server's writers are held up for a moment at a time, not for the
        # whole copy; SQLite restarts a step that a write changed, and the result is one snapshot.
        source.backup(target, pages=1024, sleep=0.005)
    finally:
        target.close()
        source.close()
    (destination / "autorelay.db").chmod(0o600)
    secret = settings.data_dir / "secret.key"
    if secret.exists():
        shutil.copy2(secret, destination / "secret.key")
        (destination / "secret.key").chmod(0o600)
    copied = {}
    for name in FOLDERS:
        folder = settings.data_dir / name
        if folder.is_dir():
            shutil.copytree(folder, destination / name)
            copied[name] = sum(1 for p in (destination / name).rglob("*") if p.is_file())
    manifest = {
        "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "from": str(settings.data_dir.resolve()),
        "database": "autorelay.db",
        "secret": secret.exists(),
        "files": copied,
        "seconds": round(time.monotonic() - started, 2),
    }
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def restore(settings: Settings, source: Path) -> dict:
    _require_sqlite(settings)
    manifest_path = source / MANIFEST
    if not manifest_path.exists():
        raise SettingsError(f"{source} is not an AutoRelay backup (no {MANIFEST})")
    manifest = json.loads(manifest_path.read_text())
    _empty_or_new(settings.data_dir, "the data dir")
    private_dir(settings.data_dir)
    target = settings.sqlite_path
    assert target is not None
    shutil.copy2(source / "autorelay.db", target)
    target.chmod(0o600)
    if (source / "secret.key").exists():
        shutil.copy2(source / "secret.key", settings.data_dir / "secret.key")
        (settings.data_dir / "secret.key").chmod(0o600)
    for name in FOLDERS:
        if (source / name).is_dir():
            shutil.copytree(source / name, settings.data_dir / name)
    check = sqlite3.connect(target)
    try:
        (ok,) = check.execute("PRAGMA integrity_check").fetchone()
    finally:
        check.close()
    if ok != "ok":
        raise SettingsError(f"the restored database fails SQLite's integrity check: {ok}")
    return manifest
