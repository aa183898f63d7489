"""The dashboard's part-2 pages attacked over HTTP: another project's templates, forged forms,
hostile designs (remote stylesheets, broken or runaway templates, huge bodies), the studio's own
page policy."""

from __future__ import annotations

import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from tests.dashboard.conftest import csrf_of, invite, signed_in_client
from tests.e2e.server import new_project


@pytest.fixture(scope="module")
def owner(dash_server):
    email = f"owner-{uuid.uuid4().hex[:6]}@acme.test"
    with signed_in_client(dash_server, invite(dash_server, email, role="owner")) as client:
        yield client


def _template(server, key: str, **fields) -> str:
    with httpx.Client(base_url=f"{server.base}/api/v1", headers={"Authorization": f"Bearer {key}"}) as api:
        body = {"name": "t", "subject": "s", "html": "<p>{{ name }}</p>"} | fields
        made = api.post("/templates", json=body)
        assert made.status_code in (200, 201), made.text
        return made.json()["id"]


def _token(client) -> str:
    return csrf_of(client.get("/app/templates").text)


def test_another_projects_template_is_not_found_anywhere(dash_server, owner):
    other = new_project(dash_server.data_dir, f"other-{uuid.uuid4().hex[:6]}")
    theirs = _template(dash_server, other["live"], html="<p>their secret</p>")
    token = _token(owner)
    for path in (f"templates/{theirs}", f"templates/{theirs}/preview", f"templates/{theirs}/preview?version=1"):
        answer = owner.get(f"/app/{path}")
        assert answer.status_code == 404 and "their secret" not in answer.text, path
    for path, form in (
        ("save", {"name": "x", "subject": "x", "html": "<p>mine now</p>", "css": ""}),
        ("duplicate", {}),
        ("delete", {}),
        ("versions/1/restore", {}),
        ("test", {"to": "a@example.com", "from": "a@acme.test", "data": "{}"}),
    ):
        answer = owner.post(f"/app/templates/{theirs}/{path}", data=form | {"csrf": token})
        assert answer.status_code in (400, 404), (path, answer.status_code)
        assert "their secret" not in answer.text
    with httpx.Client(
        base_url=f"{dash_server.base}/api/v1", headers={"Authorization": f"Bearer {other['live']}"}
    ) as api:
        assert api.get(f"/templates/{theirs}").json()["html"] == "<p>their secret</p>"


def test_studio_forms_need_the_csrf_token(dash_server, owner):
    mine = _template(dash_server, dash_server.keys["live"])
    for path in ("/app/templates", f"/app/templates/{mine}/save", f"/app/templates/{mine}/delete"):
        assert owner.post(path, data={"name": "x", "html": "<p>x</p>"}).status_code == 403, path
    assert owner.get(f"/app/templates/{mine}").status_code == 200


def test_a_save_inlines_css_and_never_fetches_a_remote_stylesheet(dash_server, owner):
    fetched = []

    class Trap(BaseHTTPRequestHandler):
        def do_GET(self):
            fetched.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"p { color: red }")

        def log_message(self, *args):
            pass

    trap = HTTPServer(("127.0.0.1", 0), Trap)
    threading.Thread(target=trap.serve_forever, daemon=True).start()
    mine = _template(dash_server, dash_server.keys["live"])
    design = (
        f'<link rel="stylesheet" href="http://127.0.0.1:{trap.server_port}/x.css"><p class="hi">Hi {{{{ name }}}}</p>'
    )
    saved = owner.post(
        f"/app/templates/{mine}/save",
        data={
            "name": "n",
            "subject": "s",
            "html": design,
            "css": ".hi { color: #123456 } @media (max-width: 600px) { .hi { color: red } }",
            "text": "",
            "csrf": _token(owner),
        },
    )
    trap.shutdown()
    assert saved.status_code == 200, saved.text
    assert saved.json()["variables"] == ["email", "name", "company", "unsubscribe_url", "preferences_url"]  # filled
    with httpx.Client(
        base_url=f"{dash_server.base}/api/v1", headers={"Authorization": f"Bearer {dash_server.keys['live']}"}
    ) as api:
        html = api.get(f"/templates/{mine}").json()["html"]
    assert 'style="color: #123456;"' in html and "@media (max-width: 600px)" in html
    assert "<link" not in html and fetched == []


def test_hostile_designs_get_clear_errors_and_keep_what_was_saved(dash_server, owner):
    mine = _template(dash_server, dash_server.keys["live"], html="<p>kept</p>")
    token = _token(owner)
    base = {"name": "n", "subject": "s", "css": "", "text": "", "csrf": token}
    broken = owner.post(f"/app/templates/{mine}/save", data=base | {"html": "<p>{{ name </p>"})
    assert broken.status_code == 400 and "html" in broken.json()["error"]
    calls = owner.post(f"/app/templates/{mine}/save", data=base | {"html": "{% for a in range(10**9) %}x{% endfor %}"})
    assert calls.status_code == 400 and "function calls are not allowed" in calls.json()["error"]
    huge = owner.post(f"/app/templates/{mine}/save", data=base | {"html": "x" * (2 * 1024 * 1024 + 10)})
    assert huge.status_code == 413 and "too large" in huge.json()["error"]
    header = owner.post(
        f"/app/templates/{mine}/save", data=base | {"subject": "Hi\r\nBcc: all@example.com", "html": "<p>x</p>"}
    )
    assert header.status_code == 400 and "subject" in header.json()["error"]
    with httpx.Client(
        base_url=f"{dash_server.base}/api/v1", headers={"Authorization": f"Bearer {dash_server.keys['live']}"}
    ) as api:
        assert api.get(f"/templates/{mine}").json()["html"] == "<p>kept</p>"
    # What parses is still sandboxed: no attribute of a Python object reaches the preview.
    code = owner.post(f"/app/templates/{mine}/save", data=base | {"html": "<p>[{{ ''.__class__ }}]</p>"})
    assert code.status_code == 200
    assert "[]" in owner.get(f"/app/templates/{mine}/preview").text


def test_the_studio_runs_no_inline_script_and_previews_stay_sandboxed(dash_server, owner):
    mine = _template(dash_server, dash_server.keys["live"], html="<p>x</p><script>alert(1)</script>")
    page = owner.get(f"/app/templates/{mine}")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "script-src 'self' 'unsafe" not in policy
    assert "</script><script>" not in page.text.split('id="studio-data">')[1].split("</script>")[0]
    preview = owner.get(f"/app/templates/{mine}/preview?v.name=%3Cb%3E")
    assert preview.headers["content-security-policy"].startswith("sandbox;")


def test_another_projects_webhook_cannot_be_seen_or_driven(dash_server, owner):
    other = new_project(dash_server.data_dir, f"hooks-{uuid.uuid4().hex[:6]}")
    with httpx.Client(
        base_url=f"{dash_server.base}/api/v1", headers={"Authorization": f"Bearer {other['live']}"}
    ) as api:
        made = api.post("/webhooks", json={"url": "https://their.example.com/hook", "events": ["email.sent"]})
        assert made.status_code == 201, made.text
        theirs = made.json()["id"]
    token = _token(owner)
    for path in (f"webhooks/{theirs}", f"webhooks/{theirs}/rows"):
        answer = owner.get(f"/app/{path}")
        assert answer.status_code == 404 and "their.example.com" not in answer.text, path
    for path in ("", "/pause", "/resume", "/test", "/delete", "/deliveries/whd_x/replay"):
        answer = owner.post(f"/app/webhooks/{theirs}{path}", data={"csrf": token, "url": "https://mine.example.com/"})
        assert answer.status_code == 404, (path, answer.status_code)
    with httpx.Client(
        base_url=f"{dash_server.base}/api/v1", headers={"Authorization": f"Bearer {other['live']}"}
    ) as api:
        still = api.get(f"/webhooks/{theirs}").json()
    assert still["url"] == "https://their.example.com/hook" and still["active"] is True


def test_members_see_webhooks_but_only_owners_change_them(dash_server):
    with signed_in_client(dash_server, invite(dash_server, f"m-{uuid.uuid4().hex[:6]}@acme.test")) as member:
        listing = member.get("/app/webhooks")
        assert listing.status_code == 200 and "Only owners add" in listing.text
        made = member.post(
            "/app/webhooks",
            data={"csrf": csrf_of(listing.text), "url": "https://x.example.com/", "events": "email.sent"},
        )
        assert made.status_code == 403


def test_a_crafted_link_cannot_put_words_on_the_webhook_page(dash_server, owner):
    with httpx.Client(
        base_url=f"{dash_server.base}/api/v1", headers={"Authorization": f"Bearer {dash_server.keys['live']}"}
    ) as api:
        mine = api.post("/webhooks", json={"url": "https://mine.example.com/hook", "events": ["email.sent"]}).json()[
            "id"
        ]
    page = owner.get(f"/app/webhooks/{mine}?done=Your+account+is+closed&notice=Call+us")
    assert page.status_code == 200 and "account is closed" not in page.text and "Call us" not in page.text


def _api(server, key):
    return httpx.Client(base_url=f"{server.base}/api/v1", headers={"Authorization": f"Bearer {key}"})


def test_another_projects_lists_contacts_imports_and_campaigns_stay_out_of_reach(dash_server, owner):
    other = new_project(dash_server.data_dir, f"lists-{uuid.uuid4().hex[:6]}")
    with _api(dash_server, other["live"]) as api:
        their_list = api.post("/lists", json={"name": "Their readers"}).json()["id"]
        contact = api.post("/contacts", json={"email": "secret@their.example", "listId": their_list}).json()
        their_contact = contact.get("id") or contact["contact"]["id"]
        body = {
            "name": "Theirs",
            "subject": "s",
            "fromEmail": "news@acme.test",
            "listId": their_list,
            "content": "<p>their secret</p>",
        }
        their_campaign = api.post("/campaigns", json=body).json()["id"]
    token = _token(owner)
    for path in (
        f"contacts/lists/{their_list}",
        f"contacts/lists/{their_list}/export.csv",
        f"contacts/people/{their_contact}",
        f"campaigns/{their_campaign}",
        f"campaigns/{their_campaign}/preview",
        f"campaigns/{their_campaign}/progress",
    ):
        answer = owner.get(f"/app/{path}")
        assert answer.status_code == 404, path
        assert "secret" not in answer.text and "Their readers" not in answer.text, path
    for path in (
        f"contacts/lists/{their_list}/settings",
        f"contacts/lists/{their_list}/delete",
        f"contacts/lists/{their_list}/contacts",
        f"contacts/people/{their_contact}",
        f"contacts/people/{their_contact}/unsubscribe",
        f"contacts/people/{their_contact}/delete",
        f"campaigns/{their_campaign}",
        f"campaigns/{their_campaign}/launch",
        f"campaigns/{their_campaign}/pause",
        f"campaigns/{their_campaign}/delete",
    ):
        answer = owner.post(f"/app/{path}", data={"csrf": token, "name": "mine", "email": "x@example.com"})
        assert answer.status_code == 404, (path, answer.status_code)
    # My own campaign cannot borrow their list, nor preview their contact.
    with _api(dash_server, dash_server.keys["live"]) as api:
        my_list = api.post("/lists", json={"name": "Mine"}).json()["id"]
        body = {
            "name": "Mine",
            "subject": "s",
            "fromEmail": "news@acme.test",
            "listId": my_list,
            "content": "<p>{{ email }}</p>",
        }
        mine = api.post("/campaigns", json=body).json()["id"]
    moved = owner.post(
        f"/app/campaigns/{mine}",
        data={
            "csrf": token,
            "name": "Mine",
            "subject": "s",
            "from_email": "news@acme.test",
            "list_id": their_list,
            "content": "<p>x</p>",
        },
    )
    assert moved.status_code == 400 and "not found" in moved.text
    peek = owner.get(f"/app/campaigns/{mine}/preview?contact={their_contact}")
    assert peek.status_code == 200 and "secret@their.example" not in peek.text
    with _api(dash_server, other["live"]) as api:
        assert api.get(f"/campaigns/{their_campaign}").json()["data"]["status"] == "draft"
        assert api.get("/contacts", params={"listId": their_list}).json()["contacts"][0]["status"] == "subscribed"


def test_hostile_csv_files_get_clear_errors_and_injected_names_are_refused_per_row(dash_server, owner):
    token = _token(owner)
    with _api(dash_server, dash_server.keys["live"]) as api:
        target = api.post("/lists", json={"name": f"Csv {uuid.uuid4().hex[:4]}"}).json()["id"]

    def upload(data: bytes, name: str = "people.csv"):
        return owner.post(
            f"/app/contacts/lists/{target}/import", data={"csrf": token}, files={"file": (name, data, "text/csv")}
        )

    binary = upload(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "photo.csv")
    assert binary.status_code == 400 and "not a CSV file" in binary.text
    assert "has no rows" in upload(b"email,name\n").text
    assert upload(b"").status_code == 400
    crafted = b'email,name\r\nok@example.com,Fine\r\nbad@example.com,"Eve\rBcc: all@example.com"\r\n'
    started = upload(crafted)
    assert started.status_code == 303, started.text
    job = started.headers["location"]
    import time

    for _ in range(100):
        page = owner.get(job)
        if "Imported" in page.text and "Importing" not in page.text:
            break
        time.sleep(0.1)
    assert re.search(r'id="imported">1<', page.text) and re.search(r'id="invalid">1<', page.text)
    report = owner.get(job + "/invalid.csv")
    assert report.headers["content-type"].startswith("text/csv")
    assert report.text.splitlines()[1].startswith("3,name ")  # line 3, the name refused
    with _api(dash_server, dash_server.keys["live"]) as api:
        emails = [c["email"] for c in api.get("/contacts", params={"listId": target}).json()["contacts"]]
    assert emails == ["ok@example.com"]
