"""The fast MIME builder (adapters/mailers/mime.py) against the standard library's parser, for any
email Hypothesis makes: what a mail client reads back is what was sent (subject, addresses, extra
headers, both bodies, every attachment's name and bytes), Bcc never shows, and the bytes are
7-bit lines of at most 998 octets ending in CRLF."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from email.utils import getaddresses

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.mailers.mime import build_message
from autorelay_core.domain.emails import Attachment, Email

SENT_AT = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)

# Header text: any character but controls, surrogates and line/paragraph separators (the API
# refuses those in headers), without leading or trailing white space (unfolding drops it).
_header_chars = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))
header_text = st.text(_header_chars, min_size=1, max_size=200).map(lambda s: " ".join(s.split())).filter(bool)
local = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,20}", fullmatch=True).filter(lambda s: ".." not in s and s[-1] != ".")
address = st.builds(lambda user, host: f"{user}@{host}.example", local, st.from_regex(r"[a-z]{1,12}", fullmatch=True))
display = st.one_of(st.just(""), header_text.filter(lambda s: not any(c in s for c in '"\\<>@,;:()[]')))
mailbox = st.builds(lambda name, addr: (name, addr), display, address)
body_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=2000)
# Not "<...>": the reading side here, the email package, unquotes a parameter by also stripping one
# pair of angle brackets around it (email.utils.unquote), so "<>" reads back as "". The header we
# write carries "<>" as given, a quoted string (RFC 2045).
filename = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=60).filter(
    lambda s: s.strip() == s and "/" not in s and "\\" not in s and not (s.startswith("<") and s.endswith(">"))
)
attachment = st.builds(
    Attachment, filename=filename, content=st.binary(max_size=3000), content_type=st.just("application/octet-stream")
)
header_name = st.from_regex(r"X-[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True)


def _formatted(box: tuple[str, str]) -> str:
    name, addr = box
    return f"{name} <{addr}>" if name else addr


@st.composite
def emails(draw) -> Email:
    return Email(
        id="em_1",
        project_id="prj_1",
        message_id="<1@acme.test>",
        sender=_formatted(draw(mailbox)),
        to=tuple(_formatted(b) for b in draw(st.lists(mailbox, min_size=1, max_size=5))),
        cc=tuple(_formatted(b) for b in draw(st.lists(mailbox, max_size=3))),
        bcc=tuple(draw(st.lists(address, max_size=3))),
        subject=draw(header_text),
        html=draw(body_text),
        text=draw(body_text),
        # Names are case-insensitive: one header per name, as the API takes them.
        headers=draw(
            st.dictionaries(header_name, header_text, max_size=3).filter(
                lambda d: len({k.lower() for k in d}) == len(d)
            )
        ),
        attachments=tuple(draw(st.lists(attachment, max_size=3))),
        created_at=SENT_AT,
    )


def _lines(text: str) -> str:
    """Line breaks as a reader sees them (the wire has CRLF; the parser keeps it)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(emails())
def test_a_client_reads_back_what_was_sent(sent: Email):
    raw = build_message(sent, SENT_AT)
    assert raw.isascii()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # every line ends in CRLF
    parsed = email.message_from_bytes(raw, policy=policy.default)

    assert parsed["Subject"] == sent.subject
    assert parsed["Bcc"] is None
    shown = {a.lower() for h in ("From", "To", "Cc") for _, a in getaddresses([str(parsed[h] or "")])}
    listed = {a.lower() for _, a in getaddresses([sent.sender, *sent.to, *sent.cc])}
    assert shown == listed  # no Bcc recipient among them, unless also a visible one
    assert [a for _, a in getaddresses([str(parsed["From"])])] == [a for _, a in getaddresses([sent.sender])]
    assert [a for _, a in getaddresses([str(parsed["To"])])] == [a for _, a in getaddresses(list(sent.to))]
    assert getaddresses([str(parsed["From"])])[0][0] == getaddresses([sent.sender])[0][0]
    for name, value in sent.headers.items():
        assert parsed[name] == value, name

    plain = parsed.get_body(("plain",))
    assert plain is not None and _lines(plain.get_content()) == _lines(sent.text or "")
    if sent.html:
        html = parsed.get_body(("html",))
        assert html is not None and _lines(html.get_content()) == _lines(sent.html)
    got = [(part.get_filename(), part.get_content()) for part in parsed.iter_attachments()]
    assert got == [(a.filename, a.content) for a in sent.attachments]


@given(st.lists(st.sampled_from([b".", b"..", b"a.b", b"\r\n", b"\n", b"\r", b"x", b".\r\n", b" ."]), max_size=30))
@settings(max_examples=300)
def test_the_data_body_is_what_aiosmtplib_would_send(parts):
    """DATA's body: line endings made CRLF, lines starting with "." doubled (RFC 5321 4.5.2), with
    or without the fast path that skips the regex when no line starts with one."""
    from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

    from adapters.mailers.smtp_client import _data_body

    message = b"".join(parts)
    assert _data_body(message) == PERIOD_REGEX.sub(b"..", normalize_message_line_endings(message))


_MAILBOX_PIECES = ["a", "Z", "0", ".", "..", "@", " ", "  ", "<", ">", '"', "é", "(", ")", ",", "!", "'", "x.y", "-"]


@given(st.lists(st.sampled_from(_MAILBOX_PIECES), max_size=12).map("".join))
@example("Ann Lee <ann.lee@mail.example.com>")
@example("ann@example.com")
@example("Ann.Lee <ann@example.com>")
@settings(max_examples=1000)
def test_a_plain_mailbox_is_written_as_the_email_package_would(mailbox):
    """The fast path for plain mailboxes gives exactly what parseaddr + formataddr give."""
    from email.utils import formataddr, parseaddr

    from adapters.mailers.mime import address_field

    def outcome(write):
        try:
            return write(mailbox)
        except UnicodeError as error:  # a non-ASCII address: build_message fails it for good
            return type(error)

    assert outcome(address_field) == outcome(lambda m: formataddr(parseaddr(m), charset="utf-8"))
