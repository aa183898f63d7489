"""The SMTP relay with clients nobody here wrote, each with stock settings and trusting the relay's
own certificate the documented way (`<data dir>/smtp-relay-ca.pem`), verifying it as they do by
default: swaks, Django's SMTP backend, nodemailer, and Postfix as a smarthost client (SASL with an
API key, `smtp_tls_security_level = encrypt`) fed by its own `sendmail`. The examples in docs/SMTP-RELAY.md are
these tests' settings."""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.e2e.server import Server, free_port, wait_for
from tests.postfix import Postfix

pytestmark = pytest.mark.e2e
NODE_DIR = Path(__file__).parent / "node"


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stock")
    port = free_port()
    server = Server(folder / "data", {"AUTORELAY_SMTP_RELAY_LISTEN": f"127.0.0.1:{port}"}).start()
    try:
        yield server, port
    finally:
        server.stop()


def _ca(server: Server) -> str:
    return str(server.data_dir / "smtp-relay-ca.pem")


def _arrived(server: Server, subject: str) -> email.message.EmailMessage | None:
    """The message the log mailer wrote for `subject`, parsed."""
    for path in (server.data_dir / "mail").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["Subject"] == subject:
            return message
    return None


def _delivered(server: Server, subject: str) -> email.message.EmailMessage:
    message = wait_for(lambda: _arrived(server, subject), 20)
    assert message is not None, f"{subject!r} never left AutoRelay: {server.log.read_text()[-2000:]}"
    return message


def test_swaks_with_tls_verification(relay):
    server, port = relay
    swaks = shutil.which("swaks")
    if swaks is None:
        if os.environ.get("AUTORELAY_TEST_POSTFIX") == "required":  # CI installs it with Postfix
            pytest.fail("swaks is required (apt-get install swaks)")
        pytest.skip("swaks is not installed")
    subject = f"swaks {uuid.uuid4().hex[:6]}"
    done = subprocess.run(
        [swaks, "--server", f"127.0.0.1:{port}", "--tls", "--tls-verify", "--tls-ca-path", _ca(server),
         "--auth", "PLAIN", "--auth-user", "app", "--auth-password", server.keys["live"],
         "--from", "news@acme.test", "--to", "ann@example.com", "--header", f"Subject: {subject}",
         "--body", "Sent by swaks."],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "queued as em_" in done.stdout
    assert _delivered(server, subject)["To"] == "ann@example.com"


def test_djangos_smtp_backend_with_stock_settings(relay):
    server, port = relay
    subject = f"django {uuid.uuid4().hex[:6]}"
    script = textwrap.dedent(f"""
        from django.conf import settings
        settings.configure(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1", EMAIL_PORT={port}, EMAIL_USE_TLS=True,
            EMAIL_HOST_USER="anything", EMAIL_HOST_PASSWORD={server.keys["live"]!r},
        )
        from django.core.mail import EmailMessage
        mail = EmailMessage({subject!r}, "Sent by Django.", "News <news@acme.test>", ["ann@example.com"],
                            headers={{"Message-ID": "<django-1@app.example>"}})
        mail.attach("report.csv", "a,b\\n1,2\\n", "text/csv")
        assert mail.send() == 1
    """)
    # Django verifies with the system's trust store: SSL_CERT_FILE adds the relay's CA to it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTORELAY_")} | {"SSL_CERT_FILE": _ca(server)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    message = _delivered(server, subject)
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "report.csv"


def test_nodemailer_with_stock_settings(relay):
    server, port = relay
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "nodemailer").exists():
        if os.environ.get("AUTORELAY_TEST_NODE") == "required":
            pytest.fail("nodemailer is required (npm ci --prefix tests/e2e/node)")
        pytest.skip("node or nodemailer is not installed (npm ci --prefix tests/e2e/node)")
    subject = f"nodemailer {uuid.uuid4().hex[:6]}"
    settings = {"host": "127.0.0.1", "port": port, "key": server.keys["live"], "ca": _ca(server), "subject": subject}
    done = subprocess.run(
        [node, str(NODE_DIR / "nodemailer_send.mjs"), json.dumps(settings)],
        capture_output=True, text=True, timeout=60, cwd=NODE_DIR,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "queued as em_" in done.stdout
    message = _delivered(server, subject)
    assert message.get_body(("html",)).get_content().strip() == "<p>Sent by <b>nodemailer</b>.</p>"


def test_postfix_as_a_smarthost_client_with_sasl_and_encrypt(relay):
    server, port = relay
    subject = f"postfix {uuid.uuid4().hex[:6]}"
    relay_host = f"[127.0.0.1]:{port}"
    extra = textwrap.dedent(f"""
        relayhost = {relay_host}
        smtp_sasl_auth_enable = yes
        smtp_sasl_password_maps = texthash:{{root}}/etc/sasl_passwd
        smtp_sasl_security_options = noanonymous
        smtp_tls_policy_maps = texthash:{{root}}/etc/tls_policy
        smtp_tls_CAfile = {_ca(server)}
    """)
    with Postfix(extra_files={"sasl_passwd": f"{relay_host} app:{server.keys['live']}\n",
                              "tls_policy": f"{relay_host} encrypt\n"}, extra=extra) as client:  # fmt: skip
        message = f"From: News <news@acme.test>\nTo: ann@example.com\nSubject: {subject}\n\nSent through Postfix.\n"
        client.sendmail(message.encode(), "ann@example.com", sender="news@acme.test")
        arrived = wait_for(lambda: _arrived(server, subject), 30)
        assert arrived is not None, client.log()[-3000:]
        assert "queued as em_" in client.log()
        assert "TLS connection established to 127.0.0.1" in client.log()
