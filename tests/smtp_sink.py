"""A real SMTP server on loopback for the tests (aiosmtpd): STARTTLS with a trustme certificate,
AUTH required, and replies a test can plan per recipient (e.g. 451 once, then 250; or 550). It
offers PIPELINING, as Postfix does, unless told not to (aiosmtpd handles pipelined commands either
way; the client only pipelines when it is offered)."""

from __future__ import annotations

import ssl
from collections import defaultdict

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from tests.e2e.server import free_port

USER, PASSWORD = "relay-user", "relay-secret"


class Sink:
    def __init__(self, *, pipelining: bool = True) -> None:
        self.pipelining = pipelining
        self.messages: list[Envelope] = []
        self.plans: dict[str, list[str]] = defaultdict(list)  # recipient -> replies to give first
        self.connections = 0
        self.ca = trustme.CA()
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
        self.port = free_port()
        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=server_context,
            require_starttls=True,
            authenticator=self._authenticate,
            auth_require_tls=True,
        )

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def ca_file(self, folder) -> str:
        path = folder / "sink-ca.pem"
        self.ca.cert_pem.write_to_path(str(path))
        return str(path)

    def server_settings(self, folder) -> dict[str, str]:
        """What an AutoRelay server needs to deliver here (STARTTLS, AUTH, this sink's CA)."""
        return {
            "AUTORELAY_MAILER": "smtp",
            "AUTORELAY_SMTP_HOST": "127.0.0.1",
            "AUTORELAY_SMTP_PORT": str(self.port),
            "AUTORELAY_SMTP_SECURITY": "starttls",
            "AUTORELAY_SMTP_USERNAME": USER,
            "AUTORELAY_SMTP_PASSWORD": PASSWORD,
            "AUTORELAY_SMTP_CA_FILE": self.ca_file(folder),
        }

    @staticmethod
    def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        return AuthResult(success=ok)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if session.ssl is None:  # each connection says EHLO again after STARTTLS: count the first
            self.connections += 1
        session.host_name = hostname
        if self.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        plan = self.plans.get(address.lower())
        if plan:
            return plan.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return f"250 2.0.0 Ok: queued as Q{len(self.messages)}"

    def __enter__(self) -> Sink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
