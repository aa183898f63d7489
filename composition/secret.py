"""The server secret: AUTORELAY_SECRET_KEY, or on the embedded profile a random one created once in
the data dir (readable by the owner only). It keys OTP hashes and sealed outbox bodies, and later
unsubscribe and tracking signatures, so every process of a deployment must share it."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from composition.settings import PREFIX, Settings, SettingsError


def server_secret(settings: Settings) -> bytes:
    if settings.secret_key:
        if len(settings.secret_key) < 32:
            raise SettingsError(f"{PREFIX}SECRET_KEY must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return settings.secret_key.encode()
    if settings.postgres:
        raise SettingsError(
            f"{PREFIX}SECRET_KEY is required with a shared database: every process must use the same one"
            " (e.g. `openssl rand -hex 32`)"
        )
    return _from_file(settings.data_dir / "secret.key")


def _from_file(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # created 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            try:
                os.link(temp, path)  # exclusive: two processes starting at once agree on one secret
            except FileExistsError:
                pass
        finally:
            Path(temp).unlink(missing_ok=True)
    return path.read_text().strip().encode()
