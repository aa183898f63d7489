"""The inbound reader on what strangers send: ordinary mail read whole, and hostile mail (100,000
parts, deep nesting, NUL characters, broken headers and charsets) refused or read safely, fast."""

from __future__ import annotations

import time

import pytest

from adapters.inbound_mail.reader import MAX_DEPTH, MAX_PARTS, Unreadable, read_mail, reply_of


def _multipart(parts: int) -> bytes:
    body = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(parts))
    return b"From: a@b.test\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + body + b"--b--\r\n"


def _nested(depth: int) -> bytes:
    head = b"From: a@b.test\r\n"
    inner = b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    for level in range(depth):
        boundary = f"b{level}".encode()
        inner = (
            b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary + b"\r\n"
            + inner + b"\r\n--" + boundary + b"--\r\n"
        )  # fmt: skip
    return head + inner


def test_a_message_of_100000_parts_is_refused_before_it_is_parsed():
    started = time.perf_counter()
    with pytest.raises(Unreadable, match=f"more than {MAX_PARTS} MIME parts"):
        read_mail(_multipart(100_000))
    assert time.perf_counter() - started < 1.0  # seconds: refused by a scan, not by a parse


def test_parts_within_the_limit_are_read():
    mail = read_mail(_multipart(MAX_PARTS - 5))
    assert mail.text == "x" and mail.files == ()


@pytest.mark.parametrize("depth", [MAX_DEPTH + 5, MAX_PARTS // 2 - 10])
def test_deep_nesting_is_refused(depth):
    with pytest.raises(Unreadable, match="nested deeper"):
        read_mail(_nested(depth))


def test_nesting_deeper_than_the_parser_goes_is_refused_fast():
    started = time.perf_counter()
    with pytest.raises(Unreadable):
        read_mail(_nested(5_000))
    assert time.perf_counter() - started < 1.0


def test_shallow_nesting_is_read():
    assert read_mail(_nested(5)).text == "deep\n"


def test_nul_characters_broken_headers_and_unknown_charsets_are_read_safely():
    raw = (
        b"From: =?x-unknown?q?bad?= <a@b.test>\r\nTo: \x00weird\r\nSubject: nul \x00 here\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nbody \x00 \xff\xfe\r\n"
    )
    mail = read_mail(raw)
    assert "\x00" not in mail.subject + mail.text + "".join(mail.to)
    assert mail.text.startswith("body")


def test_an_attachment_keeps_its_name_type_and_bytes_and_a_forwarded_message_is_a_file():
    raw = (
        b"From: a@b.test\r\nSubject: files\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"
        b"--z\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b'--z\r\nContent-Type: image/png\r\nContent-Disposition: inline; filename="dot.png"\r\n'
        b"Content-ID: <dot@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
        b"--z\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@d.test\r\nSubject: inner\r\n\r\nforwarded\r\n"
        b"--z--\r\n"
    )
    mail = read_mail(raw)
    (png, png_data), (forwarded, forwarded_data) = mail.files
    assert (png.filename, png.content_type, png.disposition, png.content_id) == (
        "dot.png",
        "image/png",
        "inline",
        "dot@x",
    )
    assert png_data == b"\x89PNG\r\n\x1a\n" and png.size == 8
    assert forwarded.content_type == "message/rfc822" and b"Subject: inner" in forwarded_data
    assert mail.text == "see attached"  # the line break before a boundary is the boundary's


def test_the_reply_text_leaves_out_the_quoted_history():
    text = "Sounds good, ship it.\n\nOn Tue, 1 Dec 2026 at 10:00, Acme <news@acme.test> wrote:\n> Shall we ship?\n"
    assert reply_of(text) == "Sounds good, ship it."
    assert reply_of("") == ""
