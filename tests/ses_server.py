"""Amazon SES for the tests: moto in server mode on loopback (real HTTP, the real boto3 client)."""

from __future__ import annotations

import json
import os
import urllib.request

import boto3
from moto.server import ThreadedMotoServer

from tests.e2e.server import free_port

# boto3 wants credentials; moto accepts any.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


class SesServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def verify_identity(self, domain: str) -> None:
        """What an operator does in the AWS console before SES accepts mail from the domain."""
        boto3.client("ses", region_name="us-east-1", endpoint_url=self.url).verify_domain_identity(Domain=domain)

    def sent_messages(self) -> list[dict]:
        """Raw messages SES accepted: [{MessageId, RawData, Destinations}]."""
        with urllib.request.urlopen(f"{self.url}/moto-api/data.json") as answer:
            raw = json.load(answer)["ses"].get("RawMessage", [])
        return [{"MessageId": m["id"], "RawData": m["raw_data"], "Destinations": m["destinations"]} for m in raw]

    def __enter__(self) -> SesServer:
        os.environ.update({k: os.environ.get(k, v) for k, v in CREDENTIALS.items()})
        self._server.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.stop()
