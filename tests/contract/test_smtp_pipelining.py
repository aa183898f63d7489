"""The SMTP client's pipelined transaction against a scripted SMTP server on loopback, on asyncio's
loop and on uvloop (conftest.py): the envelope goes out in one write, replies are read however the
server splits them, refusals come out as they do without pipelining, and the final "." waits for
the hand-over record. The reply parser, property-tested on replies split and joined every way."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.mailers.smtp_client import ProtocolError, RecipientsRefused, Reply, ReplyParser, Session
from autorelay_core.errors import MailerError

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


async def _client(server: ScriptedServer) -> tuple[Session, asyncio.Server]:
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    session = await Session.open(
        "127.0.0.1", port, security="none", username=None, password=None, timeout=5, tls_context=None
    )
    return session, listening


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


async def test_every_recipient_refused_raises_and_the_connection_stays_usable():
    server = ScriptedServer(refuse=("b@example.com", "c@example.com"))
    client, listening = await _client(server)
    async with listening:
        with pytest.raises(RecipientsRefused) as refused:
            await client.transaction("a@example.com", ["b@example.com", "c@example.com"], MESSAGE)
        assert [(a, r.code) for a, r in refused.value.refused.items()] == [
            ("b@example.com", 550),
            ("c@example.com", 550),
        ]
        assert server.messages == []
        server.refuse = ()
        _, reply = await client.transaction("a@example.com", ["b@example.com"], MESSAGE)
        assert reply == "2.0.0 Ok: queued as Q1"
        await client.quit()


async def test_the_final_dot_waits_for_the_hand_over_record_and_a_refused_one_sends_nothing_more():
    server = ScriptedServer()
    client, listening = await _client(server)
    seen: list[int] = []

    async def handover(then) -> bool:
        await asyncio.sleep(0.05)  # the record's commit
        seen.append(len(server.messages))
        then()
        return True

    async def lost(then) -> bool:
        return False

    async with listening:
        await client.transaction("a@example.com", ["b@example.com"], MESSAGE, handover)
        assert seen == [0] and len(server.messages) == 1, "the message was complete only after the record"
        with pytest.raises(MailerError, match="lease ran out"):
            await client.transaction("a@example.com", ["b@example.com"], MESSAGE, lost)
        client.close()
    await asyncio.sleep(0.1)
    assert len(server.messages) == 1, "without its final dot the server never had the second message"


replies = st.lists(
    st.tuples(
        st.integers(200, 599),
        st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30), min_size=1, max_size=4),
    ),
    min_size=1,
    max_size=6,
)


@given(replies=replies, cuts=st.lists(st.integers(0, 400), max_size=12), bare_lf=st.booleans())
def test_replies_are_read_however_the_bytes_are_split_and_joined(replies, cuts, bare_lf):
    end = b"\n" if bare_lf else b"\r\n"
    wire = b"".join(
        b"".join(f"{code}{'-' if n < len(lines) - 1 else ' '}{text}".encode() + end for n, text in enumerate(lines))
        for code, lines in replies
    )
    points = sorted({min(c, len(wire)) for c in cuts})
    pieces = [wire[a:b] for a, b in zip([0, *points], [*points, len(wire)], strict=True)]
    parser = ReplyParser()
    read = [reply for piece in pieces for reply in parser.feed(piece)]
    assert read == [Reply(code, "\n".join(lines)) for code, lines in replies]


@pytest.mark.parametrize(
    "wire",
    [b"HTTP/1.1 400 Bad Request\r\n", b"250-first\r\n550 second\r\n", b"2500 x\r\n", b"250" + b"x" * 9000],
)
def test_what_is_not_an_smtp_reply_is_an_error_not_a_guess(wire):
    with pytest.raises(ProtocolError):
        ReplyParser().feed(wire)
