"""The slow-client deadlines on a real uvicorn, on both loops `serve` may run (asyncio, uvloop), and
what happens on a uvicorn whose protocol no longer has what they hook."""

from __future__ import annotations

import asyncio
import logging
import socket

import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from adapters.http.slow_clients import DeadlineHttpProtocol, deadline_protocol
from tests.support import closed_within


async def hello(request):
    return PlainTextResponse((await request.body()).decode() or "hello")


APP = Starlette(routes=[Route("/", hello, methods=["GET", "POST"])])


async def _serving(protocol: type) -> tuple[uvicorn.Server, asyncio.Task, int]:
    config = uvicorn.Config(APP, host="127.0.0.1", port=0, http=protocol, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    return server, task, server.servers[0].sockets[0].getsockname()[1]


def _cut_off_after(port: int, sent: bytes, limit: float) -> float:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(sent)
        return closed_within(sock, limit)


async def test_a_trickling_head_and_body_are_cut_off_and_a_prompt_request_is_answered():
    server, task, port = await _serving(deadline_protocol(0.3, 0.3))
    try:
        head = await asyncio.to_thread(_cut_off_after, port, b"GET / HTTP/1.1\r\nHost: x\r\n", 3)
        body = await asyncio.to_thread(
            _cut_off_after, port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nab", 3
        )
        assert head < 1.5 and body < 1.5, (head, body)

        def prompt() -> bytes:
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                return b"".join(iter(lambda: sock.recv(4096), b""))

        answer = await asyncio.to_thread(prompt)
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok")
    finally:
        server.should_exit = True
        await task


async def test_a_uvicorn_without_the_hooks_gets_its_own_protocol_and_a_warning(caplog):
    class Changed(HttpToolsProtocol):  # a release that renamed a parser callback
        on_headers_complete = None

    with caplog.at_level(logging.WARNING, logger="autorelay.http"):
        chosen = deadline_protocol(0.3, 0.3, base=Changed)
    assert chosen is Changed
    assert "no on_headers_complete: slow clients are not cut off" in caplog.text
    assert issubclass(deadline_protocol(0.3, 0.3), DeadlineHttpProtocol)
