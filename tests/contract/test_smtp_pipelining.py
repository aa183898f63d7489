"""The SMTP client's pipelined transaction against a scripted SMTP server on loopback: the envelope
goes out in one write, replies are read however the server splits them, and refusals come out as
they do without pipelining."""

from __future__ import annotations

import asyncio

import pytest

from adapters.mailers.smtp_client import HandoverSMTP

MESSAGE = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\n.starts with a dot\r\nbye\r\n"


class ScriptedServer:
    """Offers PIPELINING; refuses the recipients in `refuse`; writes every reply on its own after a
    short pause, so replies reach the client one by one, not as one packet."""

    def __init__(self, refuse: tuple[str, ...] = ()) -> None:
        self.refuse = refuse
        self.reads: list[bytes] = []  # what each read from the client returned, after EHLO
        self.messages: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def reply(line: str) -> None:
            await asyncio.sleep(0.01)
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        await reply("220 scripted ESMTP")
        await reader.readline()
        await reply("250-scripted\r\n250-PIPELINING\r\n250 SIZE 1000000")
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            self.reads.append(chunk)
            for line in chunk.decode().split("\r\n")[:-1]:
                verb = line.split(":")[0].split(" ")[0].upper()
                if verb == "MAIL":
                    await reply("250 2.1.0 Ok")
                elif verb == "RCPT":
                    bad = any(r in line for r in self.refuse)
                    await reply("550 5.1.1 No such user" if bad else "250 2.1.5 Ok")
                elif verb == "DATA":
                    if all(r in self.refuse for r in ("b@example.com", "c@example.com")):
                        await reply("554 5.5.1 No valid recipients")
                        continue
                    await reply("354 End data with <CR><LF>.<CR><LF>")
                    self.messages.append(await reader.readuntil(b"\r\n.\r\n"))
                    await reply(f"250 2.0.0 Ok: queued as Q{len(self.messages)}")
                elif verb == "RSET":
                    await reply("250 2.0.0 Ok")
                elif verb == "QUIT":
                    await reply("221 Bye")
                    writer.close()
                    return


async def _client(server: ScriptedServer) -> tuple[HandoverSMTP, asyncio.Server]:
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    client = HandoverSMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=5)
    await client.connect()
    return client, listening


async def test_the_envelope_goes_in_one_write_and_the_message_arrives_dot_stuffed():
    server = ScriptedServer()
    client, listening = await _client(server)
    async with listening:
        refused, reply = await client.transaction("a@example.com", ["b@example.com", "c@example.com"], MESSAGE)
        assert refused == {} and reply == "2.0.0 Ok: queued as Q1"
        refused, reply = await client.transaction("a@example.com", ["b@example.com"], MESSAGE)
        assert reply == "2.0.0 Ok: queued as Q2"
        await client.quit()
    size = len(MESSAGE) + 1  # the doubled "."
    assert (
        server.reads[0]
        == (
            f"MAIL FROM:<a@example.com> SIZE={size}\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n"
        ).encode()
    )
    assert server.messages[0] == MESSAGE.replace(b"\r\n.starts", b"\r\n..starts") + b".\r\n"


async def test_a_refused_recipient_is_reported_and_the_others_get_the_message():
    server = ScriptedServer(refuse=("c@example.com",))
    client, listening = await _client(server)
    async with listening:
        refused, reply = await client.transaction("a@example.com", ["b@example.com", "c@example.com"], MESSAGE)
        assert list(refused) == ["c@example.com"] and refused["c@example.com"].code == 550
        assert reply.startswith("2.0.0") and len(server.messages) == 1
        await client.quit()


async def test_every_recipient_refused_raises_as_sendmail_does_and_the_connection_stays_usable():
    import aiosmtplib

    server = ScriptedServer(refuse=("b@example.com", "c@example.com"))
    client, listening = await _client(server)
    async with listening:
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await client.transaction("a@example.com", ["b@example.com", "c@example.com"], MESSAGE)
        assert [(r.recipient, r.code) for r in refused.value.recipients] == [
            ("b@example.com", 550),
            ("c@example.com", 550),
        ]
        assert server.messages == []
        server.refuse = ()
        _, reply = await client.transaction("a@example.com", ["b@example.com"], MESSAGE)
        assert reply == "2.0.0 Ok: queued as Q1"
        await client.quit()


async def test_without_the_protocol_internals_it_falls_back_to_aiosmtplibs_own_transaction(monkeypatch):
    """The pipelined path leans on aiosmtplib's private protocol parts (smtp_client._INTERNALS).
    A release without them gets the library's own sendmail: one command per round trip, and the
    hand-over still runs before the message is given (here, before DATA)."""
    from adapters.mailers import smtp_client

    monkeypatch.setattr(smtp_client, "_INTERNALS", (*smtp_client._INTERNALS, "_a_part_no_release_has"))
    server = ScriptedServer()
    client, listening = await _client(server)
    handed: list[int] = []

    async def handover(then) -> bool:
        handed.append(len(server.messages))
        then()
        return True

    async with listening:
        assert not isinstance(client.protocol, smtp_client.PipeliningProtocol)
        client.handover = handover
        refused, reply = await client.transaction("a@example.com", ["b@example.com", "c@example.com"], MESSAGE)
        await client.quit()
    assert refused == {} and reply == "2.0.0 Ok: queued as Q1"
    assert handed == [0]  # asked once, before the message was there
    assert server.reads[0].startswith(b"MAIL FROM:<a@example.com>") and b"RCPT" not in server.reads[0]
    assert server.messages[0] == MESSAGE.replace(b"\r\n.starts", b"\r\n..starts") + b".\r\n"
