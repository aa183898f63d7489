"""Uploaded files on local disk under the data dir, served by AutoRelay itself at
`<public URL>/files/<key>` (adapters/http/routes/assets.py sets the type, nosniff and disposition)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from urllib.parse import quote


class LocalBlobs:
    def __init__(self, root: Path, public_base: str) -> None:
        self.root = root
        self._base = public_base.rstrip("/")

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()) or ".." in Path(key).parts:
            raise ValueError(f"blob key {key!r} leaves the store")
        return path

    async def put(self, key: str, data: bytes, content_type: str, *, inline: bool, filename: str) -> None:
        # The type and disposition are the asset row's; the route that serves the file reads them there.
        await asyncio.to_thread(self._write, self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)  # readers see the whole file or none
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    def url(self, key: str) -> str:
        return f"{self._base}/files/{quote(key)}"
