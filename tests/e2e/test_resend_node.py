"""The official Resend Node SDK (tests/e2e/node, installed with `npm ci` by .ci/run), unchanged,
pointed at /compat/resend through RESEND_BASE_URL: send with html, tags and an attachment, text
only, a batch of 3, get, list, and an invalid request whose SDK error carries AutoRelay's message."""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.server import wait_for

pytestmark = pytest.mark.e2e
NODE_DIR = Path(__file__).parent / "node"
# .ci/run installs Node and the SDK and sets this, so that CI fails instead of skipping.
REQUIRED = os.environ.get("AUTORELAY_TEST_NODE") == "required"


def _ready() -> str | None:
    if shutil.which("node") is None:
        return "no node on PATH"
    if not (NODE_DIR / "node_modules" / "resend").is_dir():
        return "the SDK is not installed: npm ci --prefix tests/e2e/node"
    return None


def test_the_resend_node_sdk_works_unchanged(server):
    missing = _ready()
    if missing:
        if REQUIRED:
            pytest.fail(missing)
        pytest.skip(missing)
    env = os.environ | {"RESEND_BASE_URL": f"{server.base}/compat/resend", "RESEND_TEST_KEY": server.keys["live"]}
    done = subprocess.run(["node", "resend_sdk.mjs"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)

    sent = out["html"]["data"]["id"]
    assert out["html"]["error"] is None and sent.startswith("em_")
    path = server.data_dir / "mail" / f"{sent}.eml"
    assert wait_for(path.exists, 10)
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "From the Node SDK"
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "node.txt" and attachment.get_content() == "node attachment"
    assert out["text"]["data"]["id"].startswith("em_")
    assert len(out["batch"]["data"]["data"]) == 3
    got = out["get"]["data"]
    expected = ("email", sent, ["node@example.com"], "From the Node SDK")
    assert (got["object"], got["id"], got["to"], got["subject"]) == expected
    assert out["list"]["data"]["object"] == "list" and len(out["list"]["data"]["data"]) == 5
    inline_path = server.data_dir / "mail" / f"{out['inline']['data']['id']}.eml"
    assert wait_for(inline_path.exists, 10)
    inline = email.message_from_bytes(inline_path.read_bytes(), policy=email.policy.default)
    image = next(p for p in inline.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<logo-node>" and image.get_content_disposition() == "inline"
    permissive = out["permissive"]["data"]
    assert len(permissive["data"]) == 1 and permissive["errors"][0]["index"] == 1
    refused = out["invalid"]["error"]
    assert out["invalid"]["data"] is None and "to is not a valid email address" in refused["message"]
