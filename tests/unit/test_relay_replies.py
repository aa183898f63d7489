"""Each refusal of the core as the SMTP reply a client's log will show: the code that tells a mail
library whether to retry, and the core's own words on one line."""

from __future__ import annotations

import pytest

from adapters.smtp_relay.replies import reply_for
from autorelay_core import errors


@pytest.mark.parametrize(
    ("error", "start"),
    [
        (errors.RateLimited("Rate limit exceeded: 100 per minute", retry_after=17), "451 4.7.1 "),
        (errors.Unavailable("The database is busy", retry_after=2), "451 4.3.0 "),
        (errors.Conflict("A request with this key is in progress"), "451 4.3.0 "),
        (errors.QuotaExceeded("Monthly quota of 50,000 emails reached"), "552 5.3.4 "),
        (errors.AccountLocked("Account suspended: audit", account_status="suspended"), "554 5.7.1 "),
        (errors.Forbidden("This API key lacks the 'emails.send' scope"), "550 5.7.1 "),
        (errors.Invalid("from: x.example is not a verified domain", field="from"), "553 5.7.1 "),
        (errors.Invalid("At most 150 recipients per message", field="to"), "550 5.6.0 "),
        (errors.Unprocessable("This Idempotency-Key was used with a different request"), "554 5.6.0 "),
    ],
)
def test_refusals_map_to_smtp_codes_with_the_reason(error, start):
    reply = reply_for(error)
    assert reply.startswith(start) and error.message.split(":")[0] in reply
    assert "\n" not in reply and "\r" not in reply
    if isinstance(error, errors.RateLimited):
        assert reply.endswith("(retry in 17 s)")


def test_a_reason_with_line_breaks_stays_on_one_line():
    reply = reply_for(errors.Invalid("first line\r\n250 OK injected"))
    assert reply == "550 5.6.0 first line 250 OK injected"


def test_clients_are_counted_by_ipv4_address_and_ipv6_slash_64():
    from types import SimpleNamespace

    from adapters.smtp_server.guarded import client_of as _client

    def client(host: str) -> str:
        return _client(SimpleNamespace(peer=(host, 25)))

    assert client("2001:db8:1:2:aaaa::1") == client("2001:db8:1:2:ffff:1:2:3") == "2001:db8:1:2::/64"
    assert client("2001:db8:1:3::1") != client("2001:db8:1:2::1")
    assert client("::ffff:192.0.2.7") == client("192.0.2.7") == "192.0.2.7"
    assert client("192.0.2.7") != client("192.0.2.8")
