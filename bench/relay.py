"""The SMTP relay beside POST /emails: the same messages, over 8 connections each, on the embedded
default (SQLite, log mailer). Prints JSON: messages per second through each door and their ratio
(target >= 0.5).

Each relay connection does STARTTLS and AUTH once, then MAIL, RCPT and DATA per message (as an
application's mail library with a kept connection does); each API connection posts one JSON body
per message (keep-alive). The message: a short HTML and text body and a 2 KB attachment.

Usage: python bench/relay.py [--messages 2000] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]
from tests.e2e.server import free_port  # noqa: E402

ATTACHMENT = bytes(range(256)) * 8
HTML, TEXT = "<p>Your order <b>1042</b> has shipped.</p>", "Your order 1042 has shipped."


def cli(data_dir: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTORELAY_")} | {
        "AUTORELAY_DATA_DIR": str(data_dir)
    }
    return subprocess.run(
        [sys.executable, "-m", "composition.cli", *args], env=env, capture_output=True, text=True, check=True
    ).stdout


def mime(n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Shop <orders@acme.test>"
    message["To"] = f"reader{n}@example.com"
    message["Subject"] = f"Order {n}"
    message["Message-ID"] = f"<bench-{n}-{time.time_ns()}@app.example>"
    message.set_content(TEXT)
    message.add_alternative(HTML, subtype="html")
    message.add_attachment(ATTACHMENT, maintype="application", subtype="octet-stream", filename="order.bin")
    return message


async def through_relay(port: int, key: str, cert: Path, messages: int, connections: int) -> float:
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    per = messages // connections

    # Built before the clock starts, as the API side's bodies are cheap dicts: the bench times the server.
    prepared = {n: mime(n).as_bytes() for n in range(per * connections)}

    async def one(offset: int) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=True, tls_context=context)
        await client.connect()
        await client.login("bench", key)
        for n in range(offset, offset + per):
            await client.sendmail("orders@acme.test", [f"reader{n}@example.com"], prepared[n])
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(one(c * per) for c in range(connections)))
    return per * connections / (time.perf_counter() - started)


async def through_api(base: str, key: str, messages: int, connections: int) -> float:
    per = messages // connections
    attachment = base64.b64encode(ATTACHMENT).decode()

    async def one(offset: int) -> None:
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
            for n in range(offset, offset + per):
                body = {
                    "from": "Shop <orders@acme.test>",
                    "to": f"reader{n}@example.com",
                    "subject": f"Order {n}",
                    "html": HTML,
                    "text": TEXT,
                    "attachments": [{"filename": "order.bin", "content": attachment}],
                }
                answer = await client.post("/api/v1/emails", json=body)
                assert answer.status_code == 200, answer.text

    started = time.perf_counter()
    await asyncio.gather(*(one(c * per) for c in range(connections)))
    return per * connections / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        http_port, smtp_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTORELAY_")} | {
            "AUTORELAY_DATA_DIR": str(data_dir),
            "AUTORELAY_LOG_LEVEL": "WARNING",
            "AUTORELAY_SMTP_RELAY_LISTEN": f"127.0.0.1:{smtp_port}",
        }
        log = Path(tmp) / "serve.log"
        server = subprocess.Popen(
            [sys.executable, "-m", "composition.cli", "serve", "--port", str(http_port)],
            cwd=root, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{http_port}"
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200 and "SMTP relay on" in log.read_text():
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            key = re.search(r"live key: (ak_live_\w+)", log.read_text()).group(1)
            cli(data_dir, "domains", "verify", "acme.test", "--project", "default")
            cli(data_dir, "limits", "set", "POST /api/v1/emails", "1000000/min", "--project", "default")
            time.sleep(1.2)
            cert = data_dir / "smtp-relay-cert.pem"
            warm = max(args.connections, args.messages // 10)
            asyncio.run(through_relay(smtp_port, key, cert, warm, args.connections))
            asyncio.run(through_api(base, key, warm, args.connections))
            relay = asyncio.run(through_relay(smtp_port, key, cert, args.messages, args.connections))
            api = asyncio.run(through_api(base, key, args.messages, args.connections))
        finally:
            server.terminate()
            server.wait(30)
    result = {
        "messages": args.messages,
        "connections": args.connections,
        "relay_messages_per_s": round(relay),
        "api_messages_per_s": round(api),
        "ratio": round(relay / api, 2),
        "target_ratio": 0.5,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
