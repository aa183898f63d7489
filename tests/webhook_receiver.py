"""A real webhook receiver for the tests: a Starlette app served by uvicorn on 127.0.0.1 (a thread of
the test process), recording every request's headers and raw body, answering the statuses a test
plans (200 once they run out). With `tls_names` it serves HTTPS with a trustme certificate for them."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import trustme
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.e2e.server import free_port


class Received:
    def __init__(self, headers: dict[str, str], body: bytes, path: str) -> None:
        self.headers, self.body, self.path = headers, body, path


class Receiver:
    def __init__(self, *, tls_names: tuple[str, ...] = ()) -> None:
        self.requests: list[Received] = []
        self.statuses: list[int] = []
        self.port = free_port()
        self.ca = trustme.CA()
        self._dir = Path(tempfile.mkdtemp(prefix="receiver-"))
        self._tls_files = None
        if tls_names:
            cert = self.ca.issue_cert(*tls_names)
            cert.private_key_pem.write_to_path(str(self._dir / "key.pem"))
            cert.cert_chain_pems[0].write_to_path(str(self._dir / "cert.pem"))
            self._tls_files = (str(self._dir / "key.pem"), str(self._dir / "cert.pem"))
        app = Starlette(routes=[Route("/{path:path}", self._hook, methods=["POST"])])
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            ssl_keyfile=self._tls_files[0] if self._tls_files else None,
            ssl_certfile=self._tls_files[1] if self._tls_files else None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        self.requests.append(Received(dict(request.headers), body, request.url.path))
        status = self.statuses.pop(0) if self.statuses else 200
        return Response(b"ok" if status < 300 else b"nope", status_code=status)

    def url(self, path: str = "/hooks", host: str = "127.0.0.1") -> str:
        scheme = "https" if self._tls_files else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def ca_file(self) -> str:
        """The CA that issued the receiver's certificate, as a file (AUTORELAY_WEBHOOKS_CA_FILE)."""
        path = self._dir / "ca.pem"
        self.ca.cert_pem.write_to_path(str(path))
        return str(path)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.requests) >= count, f"{len(self.requests)} of {count} webhook requests arrived"
        return self.requests

    def __enter__(self) -> Receiver:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(5)
        shutil.rmtree(self._dir, ignore_errors=True)
