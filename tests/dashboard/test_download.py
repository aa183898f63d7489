"""The dashboard's download is the exact message that left, whatever the mailer: here SMTP (after
DKIM signing), compared byte for byte with what a real SMTP server on loopback received."""

from __future__ import annotations

import uuid

from tests.dashboard.conftest import first_owner_link, signed_in_client
from tests.e2e.server import Server, wait_for
from tests.smtp_sink import Sink


def test_the_download_is_what_the_smtp_server_received(tmp_path):
    with Sink() as sink:
        settings = sink.server_settings(tmp_path) | {"AUTORELAY_SECRET_KEY": uuid.uuid4().hex * 2}
        server = Server(tmp_path / "smtp-download", settings).start()
        try:
            with server.client(server.keys["live"]) as api:
                body = {
                    "to": "reader@example.com",
                    "from": "Acme <news@acme.test>",
                    "subject": "Exact",
                    "html": "<p>x</p>",
                }
                sent = api.post("/emails", json=body).json()
                assert wait_for(lambda: api.get(f"/emails/{sent['id']}").json()["email"]["status"] == "sent", 15)
                code = api.post("/otp/send", json={"email": "code@example.com"})
                assert code.status_code == 200
            with signed_in_client(server, first_owner_link(server), "owner@acme.test") as dashboard:
                raw = dashboard.get(f"/app/emails/{sent['id']}/message.eml")
                assert raw.status_code == 200 and raw.headers["content-type"] == "message/rfc822"
                (envelope,) = [m for m in sink.messages if "reader@example.com" in m.rcpt_tos]
                assert raw.content == envelope.original_content
                assert b"DKIM-Signature:" in raw.content or b"Message-ID:" in raw.content
                codes = dashboard.get("/app/emails?to=code@example.com").text
                code_id = codes.split("/app/emails/em_")[1].split('"')[0]
                assert wait_for(lambda: len(sink.messages) == 2, 15)
                assert dashboard.get(f"/app/emails/em_{code_id}/message.eml").status_code == 404, "codes are not kept"
        finally:
            server.stop()
