"""Second pass, smaller gaps (#32 items 7, 8, 11): refused keys on the Resend-compatible routes answer
without a traceback or a dropped connection; no query parameter of any dashboard page makes a 500;
a test key's webhook hears only of test-mode mail and test keys see only such endpoints."""

from __future__ import annotations

import json
import re
import time
import uuid

import httpx
import pytest

from tests.dashboard.conftest import csrf_of, invite, signed_in_client
from tests.e2e.server import Server
from tests.webhook_receiver import Receiver

HOSTILE = (
    "\x00",
    "%00",
    "9999-12-31",
    "0001-01-01",
    "9223372036854775807",
    "99999999999999999999",
    "-1",
    "0",
    "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
    "x" * 5000,
    "'\"><script>alert(1)</script>",
    "../../etc/passwd",
    "em_" + "f" * 40,
)
PARAMS = ("q", "page", "after", "before", "from", "until", "status", "mode", "to", "done", "version", "contact")


@pytest.fixture(scope="module")
def hooks_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("gaps2"), {"AUTORELAY_WEBHOOKS_ALLOW_PRIVATE": "1"}).start()
    yield srv
    srv.stop()


def _tracebacks(server: Server) -> int:
    return server.log.read_text(errors="replace").count("Traceback")


def test_refused_keys_on_the_resend_routes_log_nothing_and_keep_the_connection(hooks_server):
    before = _tracebacks(hooks_server)
    sockets = set()
    with httpx.Client(base_url=f"{hooks_server.base}/compat/resend", timeout=10) as client:
        for headers in (
            {},
            {"Authorization": "Bearer ak_live_bad"},
            {"Authorization": "Bearer " + "ak_live_" + "0" * 64},
        ):
            for method, path in (("GET", "/emails"), ("GET", "/emails/em_x"), ("POST", "/emails"), ("GET", "/domains")):
                answer = client.request(method, path, headers=headers, json={} if method == "POST" else None)
                assert answer.status_code in (401, 403), (method, path, answer.text)
                assert "message" in answer.json()
                sockets.add(answer.extensions["network_stream"].get_extra_info("client_addr"))
    assert len(sockets) == 1, f"the server dropped the keep-alive connection ({len(sockets)} connections used)"
    assert _tracebacks(hooks_server) == before, "a refused key logged a traceback"


def _ids(server: Server, owner: httpx.Client) -> dict[str, str]:
    """One of each object a dashboard page shows, made through the API."""
    with server.client(server.keys["live"]) as api:
        ids = {
            "email": api.post(
                "/emails", json={"to": "a@example.com", "from": "a@acme.test", "subject": "s", "html": "<p>x</p>"}
            ).json()["id"]
        }
        ids["template"] = api.post("/templates", json={"name": "t", "subject": "s", "html": "<p>x</p>"}).json()["id"]
        ids["list"] = api.post("/lists", json={"name": f"l-{uuid.uuid4().hex[:6]}"}).json()["id"]
        contact = api.post("/contacts", json={"email": "c@example.com", "listId": ids["list"]}).json()
        ids["contact"] = contact.get("id") or contact["contact"]["id"]
        campaign = api.post(
            "/campaigns",
            json={
                "name": "c",
                "subject": "s",
                "fromEmail": "a@acme.test",
                "listId": ids["list"],
                "content": "<p>x</p>",
            },
        ).json()
        ids["campaign"] = campaign["id"]
        ids["webhook"] = api.post(
            "/webhooks", json={"url": "https://hooks.example.com/x", "events": ["email.sent"]}
        ).json()["id"]
    token = csrf_of(owner.get(f"/app/contacts/lists/{ids['list']}").text)
    upload = owner.post(
        f"/app/contacts/lists/{ids['list']}/import",
        data={"csrf": token},
        files={"file": ("c.csv", b"email,name\nd@example.com,D\n", "text/csv")},
    )
    found = re.search(r"/app/contacts/imports/(\w+)", upload.headers.get("location", "") + upload.text)
    if found:
        ids["import"] = found.group(1)
    return ids


def test_no_query_parameter_of_any_page_makes_a_500(hooks_server):
    with signed_in_client(
        hooks_server, invite(hooks_server, f"fuzz-{uuid.uuid4().hex[:6]}@acme.test", role="owner")
    ) as owner:
        ids = _ids(hooks_server, owner)
        pages = [
            "/app/overview",
            "/app/emails",
            "/app/emails/rows",
            f"/app/emails/{ids['email']}",
            f"/app/emails/{ids['email']}/preview",
            "/app/keys",
            "/app/domains",
            "/app/suppressions",
            "/app/settings",
            "/app/templates",
            f"/app/templates/{ids['template']}",
            f"/app/templates/{ids['template']}/preview",
            "/app/contacts",
            f"/app/contacts/lists/{ids['list']}",
            f"/app/contacts/lists/{ids['list']}/export.csv",
            f"/app/contacts/people/{ids['contact']}",
            "/app/campaigns",
            f"/app/campaigns/{ids['campaign']}",
            f"/app/campaigns/{ids['campaign']}/preview",
            f"/app/campaigns/{ids['campaign']}/progress",
            "/app/webhooks",
            f"/app/webhooks/{ids['webhook']}",
            f"/app/webhooks/{ids['webhook']}/rows",
        ]
        if "import" in ids:
            pages += [f"/app/contacts/imports/{ids['import']}", f"/app/contacts/imports/{ids['import']}/progress"]
        before, failures = _tracebacks(hooks_server), []
        for path in pages:
            for name in PARAMS:
                for value in HOSTILE:
                    try:
                        status = owner.get(path, params={name: value}).status_code
                    except httpx.TransportError as error:
                        status = type(error).__name__
                    if not isinstance(status, int) or status >= 500:
                        failures.append((path, name, value[:20], status))
        assert failures == [], sorted({(p, n) for p, n, _, _ in failures})
        assert _tracebacks(hooks_server) == before


def test_a_test_keys_webhook_hears_only_test_mail_and_test_keys_see_only_theirs(hooks_server):
    with (
        Receiver() as receiver,
        hooks_server.client(hooks_server.keys["test"]) as test_key,
        hooks_server.client(hooks_server.keys["live"]) as live_key,
    ):
        events = ["email.sent", "email.delivered"]
        theirs = live_key.post("/webhooks", json={"url": receiver.url("/live"), "events": events}).json()
        mine = test_key.post("/webhooks", json={"url": receiver.url("/test"), "events": events})
        assert mine.status_code == 201 and mine.json()["test"] is True
        assert [w["id"] for w in test_key.get("/webhooks").json()["data"]] == [mine.json()["id"]]
        for path in (f"/webhooks/{theirs['id']}", f"/webhooks/{theirs['id']}/deliveries"):
            assert test_key.get(path).status_code == 404, path
        assert test_key.patch(f"/webhooks/{theirs['id']}", json={"url": receiver.url("/stolen")}).status_code == 404
        assert test_key.delete(f"/webhooks/{theirs['id']}").status_code == 404
        assert theirs["id"] in {w["id"] for w in live_key.get("/webhooks").json()["data"]}

        mail = {"from": "a@acme.test", "subject": "secret live subject", "html": "<p>x</p>"}
        live_id = live_key.post("/emails", json=mail | {"to": "victim@example.com"}).json()["id"]
        test_id = test_key.post("/emails", json=mail | {"to": "tester@example.com", "subject": "t"}).json()["id"]
        receiver.wait_for(3)  # the live endpoint hears both emails; the test endpoint one
        time.sleep(1.5)  # room for a wrong delivery to arrive
        heard = {
            (r.path, json.loads(r.body)["data"].get("emailId") or json.loads(r.body)["data"].get("email_id"))
            for r in receiver.requests
        }
        assert ("/test", test_id) in heard and ("/live", live_id) in heard and ("/live", test_id) in heard
        leaked = [r.body for r in receiver.requests if r.path == "/test" and b"victim@example.com" in r.body]
        assert not leaked and ("/test", live_id) not in heard
