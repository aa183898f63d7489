"""The official Resend Python SDK, unchanged, pointed at /compat/resend of a real server: send (html,
text-only, tags, an attachment), a batch of 3, get, list, and an invalid request whose SDK error
carries AutoRelay's message. Every send lands as a real message through the same pipeline."""

from __future__ import annotations

import email
import email.policy

import pytest

from tests.e2e.server import wait_for

resend = pytest.importorskip("resend")
pytestmark = pytest.mark.e2e

SENDER = "Acme <news@acme.test>"


@pytest.fixture
def sdk(server):
    resend.api_key = server.keys["live"]
    resend.api_url = f"{server.base}/compat/resend"
    yield resend


def written(server, email_id: str) -> email.message.EmailMessage:
    path = server.data_dir / "mail" / f"{email_id}.eml"
    assert wait_for(path.exists, 10), f"{email_id} was never written"
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def test_the_resend_sdk_sends_gets_and_lists_through_autorelay(server, sdk, live):
    sent = sdk.Emails.send(
        {
            "from": SENDER,
            "to": ["ana@example.com"],
            "subject": "From the Resend SDK",
            "html": "<p>Hello <b>Ana</b></p>",
            "tags": [{"name": "category", "value": "welcome"}],
            "attachments": [{"filename": "hello.txt", "content": list(b"hello attachment")}],
        }
    )
    assert sent["id"].startswith("em_")
    message = written(server, sent["id"])
    assert message["Subject"] == "From the Resend SDK" and "Hello" in message.get_body(("html",)).get_content()
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "hello.txt" and attachment.get_content() == "hello attachment"
    assert live.get(f"/emails/{sent['id']}").json()["email"]["tags"] == {"category": "welcome"}

    text_only = sdk.Emails.send({"from": SENDER, "to": "bo@example.com", "subject": "Plain", "text": "Just text"})
    plain = written(server, text_only["id"])
    assert plain.get_body(("html",)) is None and plain.get_body(("plain",)).get_content().strip() == "Just text"

    batch = sdk.Batch.send(
        [{"from": SENDER, "to": f"b{i}@example.com", "subject": f"Batch {i}", "html": f"<p>{i}</p>"} for i in range(3)]
    )
    assert len(batch["data"]) == 3 and all(row["id"].startswith("em_") for row in batch["data"])

    got = sdk.Emails.get(sent["id"])
    assert (got["object"], got["id"], got["to"], got["subject"]) == (
        "email",
        sent["id"],
        ["ana@example.com"],
        "From the Resend SDK",
    )
    assert wait_for(lambda: sdk.Emails.get(sent["id"])["last_event"] == "sent", 10)
    listed = sdk.Emails.list({"limit": 5})
    assert listed["object"] == "list" and len(listed["data"]) == 5
    assert {row["id"] for row in batch["data"]} <= {row["id"] for row in listed["data"]}, "newest first"


def test_sdk_errors_carry_autorelays_reason(server, sdk):
    with pytest.raises(resend.exceptions.ResendError) as refused:
        sdk.Emails.send({"from": SENDER, "to": "not-an-address", "subject": "x", "html": "<p>x</p>"})
    assert "to is not a valid email address" in str(refused.value)
    with pytest.raises(resend.exceptions.ResendError) as unverified:
        sdk.Emails.send({"from": "me@not-verified.example", "to": "a@example.com", "subject": "x", "html": "<p>x</p>"})
    assert "not-verified.example is not a verified domain" in str(unverified.value)
    with pytest.raises(resend.exceptions.ResendError) as react:
        sdk.Emails.send({"from": SENDER, "to": "a@example.com", "subject": "x", "react": "<Email/>"})
    assert "React email bodies" in str(react.value)
    with pytest.raises(resend.exceptions.ResendError) as batch:
        sdk.Batch.send([{"from": SENDER, "to": "a@example.com", "subject": "ok", "html": "<p>1</p>"}, {"from": SENDER}])
    assert "[1]" in str(batch.value)
    resend.api_key = "re_not_ours"
    with pytest.raises(resend.exceptions.ResendError) as unauthorised:
        sdk.Emails.send({"from": SENDER, "to": "a@example.com", "subject": "x", "html": "<p>x</p>"})
    assert "Malformed API key" in str(unauthorised.value)


def test_domains_and_api_keys_through_the_sdk(server, sdk):
    created = sdk.Domains.create({"name": "resend-sdk.example"})
    assert created["name"] == "resend-sdk.example" and created["status"] == "pending"
    kinds = {record["record"] for record in created["records"]}
    assert kinds == {"DKIM", "SPF", "DMARC"} and all(r["status"] == "not_started" for r in created["records"])
    assert created["id"] in [d["id"] for d in sdk.Domains.list()["data"]]
    assert sdk.Domains.get(created["id"])["records"] == created["records"]
    assert sdk.Domains.verify(created["id"])["id"] == created["id"]
    assert sdk.Domains.get(created["id"])["status"] == "pending", "its records are not published"
    assert sdk.Domains.remove(created["id"])["deleted"] is True
    with pytest.raises(resend.exceptions.ResendError) as gone:
        sdk.Domains.get(created["id"])
    assert "not found" in str(gone.value)

    sending = sdk.ApiKeys.create({"name": "CI sender", "permission": "sending_access"})
    assert sending["token"].startswith("ak_live_") and sending["id"] in [k["id"] for k in sdk.ApiKeys.list()["data"]]
    owner = resend.api_key
    try:
        resend.api_key = sending["token"]
        sent = sdk.Emails.send({"from": SENDER, "to": "ci@example.com", "subject": "From a new key", "text": "ok"})
        assert sent["id"].startswith("em_")
        with pytest.raises(resend.exceptions.ResendError) as narrow:
            sdk.ApiKeys.create({"name": "escalate"})
        assert "full" in str(narrow.value)
    finally:
        resend.api_key = owner
    sdk.ApiKeys.remove(sending["id"])
    assert sending["id"] not in [k["id"] for k in sdk.ApiKeys.list()["data"]]
    resend.api_key = sending["token"]
    try:
        with pytest.raises(resend.exceptions.ResendError) as revoked:
            sdk.Emails.send({"from": SENDER, "to": "ci@example.com", "subject": "x", "text": "x"})
        assert "revoked" in str(revoked.value)
    finally:
        resend.api_key = owner
    with pytest.raises(resend.exceptions.ResendError) as scoped:
        sdk.ApiKeys.create({"name": "one domain", "domain_id": "dom_x"})
    assert "not supported by AutoRelay" in str(scoped.value)


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_an_inline_image_is_shown_by_its_content_id_not_attached(server, sdk):
    for key in ("content_id", "inline_content_id"):
        sent = sdk.Emails.send(
            {
                "from": SENDER,
                "to": "pic@example.com",
                "subject": f"Inline by {key}",
                "html": '<p>Logo: <img src="cid:logo-1"></p>',
                "attachments": [
                    {"filename": "logo.png", "content": list(PNG), "content_type": "image/png", key: "logo-1"},
                    {"filename": "terms.txt", "content": list(b"terms")},
                ],
            }
        )
        message = written(server, sent["id"])
        related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
        image = next(p for p in related.walk() if p.get_content_type() == "image/png")
        assert image["Content-ID"] == "<logo-1>" and image.get_content_disposition() == "inline"
        assert image.get_content() == PNG
        assert [a.get_filename() for a in message.iter_attachments()] == ["terms.txt"], "only the file is attached"


def test_the_sdks_batch_validation_permissive_sends_the_valid_and_lists_the_rest(sdk):
    rows = [
        {"from": SENDER, "to": "ok1@example.com", "subject": "ok", "html": "<p>1</p>"},
        {"from": SENDER, "to": "not-an-address", "subject": "bad", "html": "<p>2</p>"},
        {"from": SENDER, "to": "ok2@example.com", "subject": "ok", "html": "<p>3</p>"},
    ]
    answer = sdk.Batch.send(rows, options={"batch_validation": "permissive"})
    assert len(answer["data"]) == 2 and all(row["id"].startswith("em_") for row in answer["data"])
    (error,) = answer["errors"]
    assert error["index"] == 1 and "to is not a valid email address" in error["message"]
    with pytest.raises(resend.exceptions.ResendError):
        sdk.Batch.send(rows)  # strict, the default: one invalid refuses them all


def test_errors_carry_resends_names_and_statuses(server):
    import httpx

    with httpx.Client(base_url=f"{server.base}/compat/resend", timeout=30) as http:
        body = {"from": SENDER, "to": "a@example.com", "subject": "x", "html": "<p>x</p>"}

        def answer(**kwargs) -> tuple[int, str | None]:
            reply = http.post("/emails", **kwargs)
            return reply.status_code, reply.json().get("name")

        assert answer(json=body) == (401, "missing_api_key")
        assert answer(json=body, headers={"Authorization": "Bearer re_not_ours"}) == (403, "invalid_api_key")
        own = {"Authorization": f"Bearer {server.keys['live']}"}
        assert answer(json=body, headers=own | {"Idempotency-Key": "k-1"})[0] == 200
        changed = body | {"subject": "y"}
        assert answer(json=changed, headers=own | {"Idempotency-Key": "k-1"}) == (409, "invalid_idempotent_request")
        extra = body | {"attachments": [{"filename": "a.txt", "content": "YQ==", "colour": "red"}]}
        status, name = answer(json=extra, headers=own)
        assert (status, name) == (422, "validation_error")
        assert "colour" in http.post("/emails", json=extra, headers=own).json()["message"]
        domain = {"name": f"dup-{server.port}.example", "custom_return_path": "bounces"}
        assert http.post("/domains", json=domain, headers=own).status_code == 201
        again = http.post("/domains", json=domain, headers=own)
        assert again.status_code == 409 and again.json()["name"] == "validation_error"


def test_a_scheduled_emails_last_event_is_scheduled(sdk):
    from datetime import UTC, datetime, timedelta

    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    sent = sdk.Emails.send(
        {"from": SENDER, "to": "later@example.com", "subject": "Later", "html": "<p>x</p>", "scheduled_at": later}
    )
    assert sdk.Emails.get(sent["id"])["last_event"] == "scheduled"


def test_a_resend_format_webhook_verifies_with_resends_own_sdk(tmp_path):
    from tests.e2e.server import Server
    from tests.webhook_receiver import Receiver

    server = Server(tmp_path / "data", {"AUTORELAY_WEBHOOKS_ALLOW_PRIVATE": "1"}).start()
    try:
        with Receiver() as receiver, server.client(server.keys["live"]) as api:
            hook = {"url": receiver.url("/resend"), "events": ["email.sent"], "format": "resend"}
            made = api.post("/webhooks", json=hook).json()
            assert made["format"] == "resend"
            sent = api.post(
                "/emails",
                json={"from": SENDER, "to": "hook@example.com", "subject": "Hooked", "html": "<p>x</p>",
                      "tags": {"plan": "pro"}},
            ).json()["id"]  # fmt: skip
            (post,) = receiver.wait_for(1)
            headers = {name: post.headers[f"svix-{name}"] for name in ("id", "timestamp", "signature")}
            event = resend.Webhooks.verify(
                {"payload": post.body.decode(), "headers": headers, "webhook_secret": made["secret"]}
            )
            assert event["type"] == "email.sent" and event["data"]["email_id"] == sent
            assert event["data"]["to"] == ["hook@example.com"] and event["data"]["subject"] == "Hooked"
            assert event["data"]["tags"] == {"plan": "pro"}
            with pytest.raises(ValueError, match="no matching signature"):
                resend.Webhooks.verify({"payload": post.body.decode() + " ", "headers": headers,
                                        "webhook_secret": made["secret"]})  # fmt: skip
    finally:
        server.stop()
