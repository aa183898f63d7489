"""Class 1: no field a tenant controls can put a line break into a written message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.server import autorelay, wait_for
from tests.security.helpers import message_file, parsed_message, set_stored_subject

INJECTION = "Eve\r\nBcc: victim@evil.test"
BREAKS = ["\r\n", "\n", "\r", "\v", "\f", "\x1c", "\x85", "\u2028", "\u2029", "\x00", "\x1b"]


def test_contact_fields_refuse_line_breaks_and_control_characters(live):
    target = live.post("/lists", json={"name": "Injection"}).json()["id"]
    for field in ("name", "company"):
        for character in BREAKS:
            answer = live.post(
                "/contacts", json={"email": "eve@example.com", "listId": target, field: f"Eve{character}Bcc: x@y.z"}
            )
            assert answer.status_code == 400, (field, repr(character), answer.text)
            assert answer.json()["error"].startswith(f"{field} must not contain"), answer.text
    created = live.post("/contacts", json={"email": "eve@example.com", "listId": target, "name": "Eve"}).json()
    answer = live.put(f"/contacts/{created['id']}", json={"company": "Acme\nBcc: x@y.z"})
    assert answer.status_code == 400 and "company must not contain a line break (U+000A)" in answer.text
    rows = [{"email": "a@example.com", "name": "A"}, {"email": "b@example.com", "name": INJECTION}]
    answer = live.post("/contacts/import", json={"listId": target, "contacts": rows})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "contacts[1].name must not contain a line break (U+000D)"
    listed = live.get("/contacts", params={"listId": target}).json()
    assert [c["email"] for c in listed["contacts"]] == ["eve@example.com"], "the refused import stored nothing"


def test_the_csv_import_reports_the_line_and_skips_it(server, live, tmp_path):
    target = live.post("/lists", json={"name": "CSV"}).json()["id"]
    path = tmp_path / "people.csv"
    path.write_text('email,name\nok@example.com,Ok\nbad@example.com,"Eve\rBcc: victim@evil.test"\n', newline="")
    out = autorelay(server.data_dir, "contacts", "import", str(path), "--list", target, "--project", "default")
    assert "line 3: name must not contain a line break (U+000D)" in out, out
    emails = [c["email"] for c in live.get("/contacts", params={"listId": target}).json()["contacts"]]
    assert emails == ["ok@example.com"]


def test_custom_headers_are_checked_whole_and_capped(live):
    base = {"to": "a@example.com", "from": "a@acme.test", "subject": "s", "html": "<p>x</p>"}
    refused = {
        "X-Tag\n": "v",  # a `$` anchor would let this name through
        "X-Tag\r\nBcc": "victim@evil.test",
        "X Tag": "v",
    }
    for name, value in refused.items():
        answer = live.post("/emails", json=base | {"headers": {name: value}})
        assert answer.status_code == 400 and "not a valid header name" in answer.text, (name, answer.text)
    answer = live.post("/emails", json=base | {"headers": {"X-Ok": "a\u2028Bcc: victim@evil.test"}})
    assert answer.status_code == 400 and "X-Ok must not contain a line break (U+2028)" in answer.text
    answer = live.post("/emails", json=base | {"headers": {f"X-{i}": "v" for i in range(51)}})
    assert answer.status_code == 400 and "at most 50 custom headers" in answer.text
    answer = live.post("/emails", json=base | {"headers": {"X-Big": "v" * 999}})
    assert answer.status_code == 400 and "at most 998 characters" in answer.text


def test_rendered_subjects_and_names_cannot_break_a_header(server, live):
    template = live.post("/templates", json={"name": "t", "subject": "Hi {{ name }}", "html": "<p>{{ name }}</p>"})
    answer = live.post(
        "/emails",
        json={
            "to": "a@example.com",
            "from": "a@acme.test",
            "template_id": template.json()["id"],
            "data": {"name": INJECTION},
        },
    )
    assert answer.status_code == 400 and answer.json()["error"] == "subject must not contain a line break (U+000D)"
    # An attachment's name is cleaned, never refused: nothing of the break survives into the headers.
    sent = live.post(
        "/emails",
        json={
            "to": "a@example.com",
            "from": "a@acme.test",
            "subject": "Files",
            "html": "<p>x</p>",
            "attachments": [{"filename": 'a"\r\nBcc: victim@evil.test\r\n.txt', "content": "aGk="}],
        },
    ).json()
    path = message_file(server, sent["id"])
    assert wait_for(path.exists, 10)
    message = parsed_message(path)
    assert message["Bcc"] is None and [str(a.addr_spec) for a in message["To"].addresses] == ["a@example.com"]
    (attachment,) = message.iter_attachments()
    assert "\n" not in attachment.get_filename() and "\r" not in attachment.get_filename()


def test_a_campaign_to_hostile_looking_names_writes_clean_messages(server, live):
    target = live.post("/lists", json={"name": "Names"}).json()["id"]
    names = ["Zoë <z@evil.test>", "=?utf-8?b?QmNjOiB4QGV2aWwudGVzdA==?=", "Bcc: x@evil.test", "a" * 256]
    rows = [{"email": f"n{i}@example.com", "name": name} for i, name in enumerate(names)]
    assert live.post("/contacts/import", json={"listId": target, "contacts": rows}).json()["importedCount"] == 4
    body = {"name": "c", "subject": "Hi {{ name }}", "fromEmail": "news@acme.test", "listId": target}
    campaign = live.post("/campaigns", json=body | {"content": "<p>Hi {{ name }}</p>"}).json()["id"]
    assert live.post(f"/campaigns/{campaign}/launch").status_code == 200
    # GET /campaigns/:id is limited to 60 a minute per key: poll once a second.
    done = wait_for(lambda: live.get(f"/campaigns/{campaign}").json()["data"]["status"] == "completed", 20, interval=1)
    assert done
    listed = live.get("/emails", params={"limit": 100, "order": "desc"}).json()["emails"]
    ours = [e for e in listed if e["to"].startswith("n") and e["to"].endswith("@example.com")][:4]
    for email in ours:
        message = parsed_message(message_file(server, email["id"]))
        assert [str(a.addr_spec) for a in message["To"].addresses] == [email["to"]]
        assert message["Bcc"] is None and message["Cc"] is None and len(message.get_all("To")) == 1
        assert message["Subject"].startswith("Hi ")


def test_a_stored_subject_with_a_line_break_fails_with_a_clear_error_and_is_never_written(server, live):
    """A row that skipped the door (written by an older release, say) is checked again right
    before its message is built."""
    later = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    sent = live.post(
        "/emails",
        json={"to": "a@example.com", "from": "a@acme.test", "subject": "s", "html": "<p>x</p>", "scheduled_at": later},
    ).json()
    set_stored_subject(server, sent["id"], "Hi\r\nBcc: victim@evil.test")  # before it is due, 3 s from now
    detail = wait_for(lambda: (d := live.get(f"/emails/{sent['id']}").json())["email"]["status"] == "failed" and d, 15)
    assert detail, live.get(f"/emails/{sent['id']}").json()
    assert detail["email"]["lastError"] == "not sent: the Subject header contains a line break (U+000D)"
    assert not message_file(server, sent["id"]).exists()
