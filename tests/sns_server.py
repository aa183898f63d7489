"""Amazon SNS for the tests: an HTTPS server on loopback that answers for sns.us-east-1.amazonaws.com
(a trustme certificate for that name), serving the certificate SNS signs with and recording
subscription confirmations; and a signer that makes messages as SNS does."""

from __future__ import annotations

import base64
import json
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from adapters.returned_mail.sns import canonical

HOST = "sns.us-east-1.amazonaws.com"
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-feedback"
CERT_PATH = "/SimpleNotificationService-test.pem"


class SnsServer:
    def __init__(self) -> None:
        self.ca = trustme.CA(key_type=trustme.KeyType.RSA)  # SNS signs with RSA
        signing = self.ca.issue_cert("sns.amazonaws.com", key_type=trustme.KeyType.RSA)
        self._key = serialization.load_pem_private_key(signing.private_key_pem.bytes(), password=None)
        self._signing_pem = signing.cert_chain_pems[0].bytes()
        self.confirmed: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == CERT_PATH:
                    body = outer._signing_pem
                else:
                    outer.confirmed.append(self.path)
                    body = b"<ConfirmSubscriptionResponse/>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(HOST).configure_cert(context)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.address = f"127.0.0.1:{self._httpd.server_address[1]}"

    def ca_file(self, folder) -> str:
        path = folder / "sns-ca.pem"
        self.ca.cert_pem.write_to_path(str(path))
        return str(path)

    def signed(self, message: dict, *, version: str = "2", cert_url: str = f"https://{HOST}{CERT_PATH}") -> bytes:
        message = {"MessageId": str(uuid.uuid4()), "Timestamp": "2026-11-26T10:00:00.000Z", "TopicArn": TOPIC} | message
        message |= {"SignatureVersion": version, "SigningCertURL": cert_url}
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self._key.sign(canonical(message), padding.PKCS1v15(), algorithm)
        message["Signature"] = base64.b64encode(signature).decode()
        return json.dumps(message).encode()

    def __enter__(self) -> SnsServer:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
