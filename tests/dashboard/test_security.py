"""The dashboard attacked over HTTP: no page without a session, CSRF on every form, members are not
owners, cookie flags, a preview that cannot run script or reach the dashboard, one tenant's user sees
nothing of another project, sign-in throttled and not postable from another site."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.dashboard.conftest import csrf_of, first_owner_link, invite, link_path, signed_in_client
from tests.dns_server import DnsServer
from tests.e2e.server import Server, autorelay, new_project

PAGES = ("overview", "emails", "keys", "domains", "suppressions", "settings")


@pytest.fixture(scope="module")
def owner(dash_server):
    email = f"owner-{uuid.uuid4().hex[:6]}@acme.test"
    with signed_in_client(dash_server, invite(dash_server, email, role="owner")) as client:
        yield client


def _email_of_project(server: Server, key: str) -> str:
    with httpx.Client(base_url=f"{server.base}/api/v1", headers={"Authorization": f"Bearer {key}"}) as api:
        body = {"to": "a@example.com", "from": "a@acme.test", "subject": "secret", "html": "<p>secret</p>"}
        return api.post("/emails", json=body).json()["id"]


def test_no_page_without_a_session(dash_server):
    email_id = _email_of_project(dash_server, dash_server.keys["test"])
    with httpx.Client(base_url=dash_server.base) as stranger:
        for path in [*PAGES, f"emails/{email_id}", f"emails/{email_id}/preview", f"emails/{email_id}/message.eml"]:
            answer = stranger.get(f"/app/{path}")
            assert answer.status_code == 303 and answer.headers["location"].startswith("/app/sign-in"), path
        stranger.cookies.set("autorelay_session", "made-up")
        forged = stranger.post("/app/keys", data={"name": "x"})
        assert forged.status_code == 303
        assert stranger.get("/app/emails/rows", headers={"HX-Request": "true"}).status_code == 401


def test_pages_send_a_strict_policy_and_forms_need_the_csrf_token(owner):
    page = owner.get("/app/keys")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    for path, form in (("/app/keys", {"name": "csrf"}), ("/app/settings/tracking", {}), ("/app/sign-out", {})):
        assert owner.post(path, data=form).status_code == 403, path
        assert owner.post(path, data=form | {"csrf": "forged"}).status_code == 403, path
    assert "Form expired" in owner.post("/app/keys", data={}).text
    token = csrf_of(page.text)
    created = owner.post("/app/keys", data={"name": "with token", "csrf": token})
    assert created.status_code == 303 and "ak_live_" not in created.headers["set-cookie"]  # sealed
    shown = owner.get(created.headers["location"])
    plain = re.search(r'id="new-key">(ak_live_[0-9a-f]{64})<', shown.text).group(1)
    assert plain not in owner.get(created.headers["location"]).text  # once


def test_a_member_cannot_manage_keys_or_members(dash_server):
    with signed_in_client(dash_server, invite(dash_server, f"m-{uuid.uuid4().hex[:6]}@acme.test")) as member:
        page = member.get("/app/keys")
        assert page.status_code == 200 and "Create key" not in page.text
        token = csrf_of(page.text)
        assert member.post("/app/keys", data={"name": "nope", "csrf": token}).status_code == 403
        key_id = re.search(r"/app/keys/(key_\w+)/revoke", member.get("/app/keys").text)
        assert key_id is None, "no revoke button for members"
        assert member.post("/app/keys/key_anything/revoke", data={"csrf": token}).status_code == 403
        assert member.post("/app/settings/members", data={"email": "x@y.z", "csrf": token}).status_code == 403
        assert member.get("/app/emails").status_code == 200, "members use the rest"


def test_cookies_carry_their_flags(dash_server, tmp_path):
    with httpx.Client(base_url=dash_server.base) as client:
        link = invite(dash_server, f"c-{uuid.uuid4().hex[:6]}@acme.test")
        answer = client.post(link_path(link), data={"password": "x" * 12, "password_again": "x" * 12})
        cookie = answer.headers["set-cookie"]
    assert re.search(r"autorelay_session=[\w-]{40,};", cookie)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/app" in cookie and "Secure" not in cookie
    secure = Server(tmp_path / "https", {"AUTORELAY_PUBLIC_URL": "https://mail.example.com"}).start()
    try:
        link = invite(secure, "s@acme.test")
        with httpx.Client(base_url=secure.base) as client:
            assert link.startswith("https://mail.example.com/app/welcome?token=")
            answer = client.post(link_path(link), data={"password": "x" * 12, "password_again": "x" * 12})
            assert answer.status_code == 303 and "Secure" in answer.headers["set-cookie"]
    finally:
        secure.stop()


def test_the_preview_cannot_run_script_or_reach_the_dashboard(dash_server, owner):
    email_id = _email_of_project(dash_server, dash_server.keys["live"])
    detail = owner.get(f"/app/emails/{email_id}")
    assert re.search(r'<iframe class="preview" src="/app/emails/em_\w+/preview" sandbox=""', detail.text)
    preview = owner.get(f"/app/emails/{email_id}/preview")
    policy = preview.headers["content-security-policy"]
    assert policy.startswith("sandbox;") and "allow-scripts" not in policy and "allow-same-origin" not in policy
    assert "script-src" not in policy and "default-src 'none'" in policy


def test_one_tenants_user_sees_nothing_of_another_project(dash_server, owner):
    other = new_project(dash_server.data_dir, f"other-{uuid.uuid4().hex[:6]}")
    theirs = _email_of_project(dash_server, other["test"])
    for path in (f"emails/{theirs}", f"emails/{theirs}/preview", f"emails/{theirs}/message.eml"):
        assert owner.get(f"/app/{path}").status_code == 404, path
    assert theirs not in owner.get("/app/emails").text
    token = csrf_of(owner.get("/app/keys").text)
    with httpx.Client(
        base_url=f"{dash_server.base}/api/v1", headers={"Authorization": f"Bearer {other['live']}"}
    ) as api:
        their_key = api.get("/emails")  # the key works before
        assert their_key.status_code == 200
    keys_listing = owner.get("/app/keys").text
    assert other["live"][-4:] not in keys_listing
    switched = owner.post("/app/switch", data={"project": "prj_not_mine", "csrf": token})
    assert switched.status_code == 404 and theirs not in owner.get("/app/emails").text


def test_sign_in_is_throttled_and_refused_from_another_site(dash_server):
    email = f"t-{uuid.uuid4().hex[:6]}@acme.test"
    with signed_in_client(dash_server, invite(dash_server, email)):
        pass
    with httpx.Client(base_url=dash_server.base) as client:
        evil = client.post(
            "/app/sign-in", data={"email": email, "password": "x" * 12}, headers={"Origin": "https://evil.example"}
        )
        assert evil.status_code == 403
        codes = [
            client.post("/app/sign-in", data={"email": email, "password": "wrong" * 3}).status_code for _ in range(11)
        ]
        assert codes[:10] == [401] * 10 and codes[10] == 429, codes
        assert (
            "Wrong email or password"
            in client.post("/app/sign-in", data={"email": "no@x.yz", "password": "p" * 12}).text
        )


def test_a_member_of_two_projects_switches_between_them(dash_server):
    name = f"second-{uuid.uuid4().hex[:6]}"
    second = new_project(dash_server.data_dir, name)
    email = f"two-{uuid.uuid4().hex[:6]}@acme.test"
    invite(dash_server, email, project=name, role="member")
    listing = autorelay(dash_server.data_dir, "projects", "list")
    second_id = next(line.split()[0] for line in listing.splitlines() if line.split()[1] == name)
    with signed_in_client(dash_server, invite(dash_server, email, role="owner")) as client:
        page = client.get("/app/overview").text
        assert f">{name}</option>" in page and ">default</option>" in page
        default_id = re.search(r'<option value="(prj_\w+)"[^>]*>default</option>', page).group(1)
        theirs = _email_of_project(dash_server, second["test"])
        ours = _email_of_project(dash_server, dash_server.keys["test"])
        csrf = csrf_of(page)
        assert client.post("/app/switch", data={"project": default_id, "csrf": csrf}).status_code == 303
        assert client.get(f"/app/emails/{theirs}").status_code == 404, "not while default is shown"
        assert client.get(f"/app/emails/{ours}").status_code == 200
        assert "Create key" in client.get("/app/keys").text, "an owner of default"
        assert client.post("/app/switch", data={"project": second_id, "csrf": csrf}).status_code == 303
        assert client.get(f"/app/emails/{theirs}").status_code == 200
        assert client.get(f"/app/emails/{ours}").status_code == 404
        assert "Create key" not in client.get("/app/keys").text, "a member there, not an owner"


def test_verifying_a_domain_from_the_dashboard_is_rate_limited(tmp_path):
    with DnsServer() as dns:  # answers nothing: every check is quick and finds the records missing
        server = Server(tmp_path / "verify", {"AUTORELAY_DNS_RESOLVER": dns.address}).start()
        try:
            with signed_in_client(server, first_owner_link(server), "owner@acme.test") as client:
                page = client.get("/app/domains").text
                client.post("/app/domains", data={"domain": "limits.example.com", "csrf": csrf_of(page)})
                page = client.get("/app/domains").text
                domain_id = re.search(r"/app/domains/(dom_\w+)/verify", page).group(1)
                codes = [
                    client.post(f"/app/domains/{domain_id}/verify", data={"csrf": csrf_of(page)}).status_code
                    for _ in range(11)
                ]
                assert codes[:10] == [200] * 10 and codes[10] == 429, codes
        finally:
            server.stop()


def test_only_owners_make_or_remove_inbound_routes(dash_server):
    """A route can send strangers' mail to a URL or an address, like a webhook: a member sees the
    routes, and is refused making or removing one (the form is not shown either)."""
    name = f"routes-{uuid.uuid4().hex[:6]}"
    keys = new_project(dash_server.data_dir, name)
    domain = f"in-{uuid.uuid4().hex[:6]}.acme.test"
    with dash_server.client(keys["live"]) as api:
        assert api.post("/receiving-domains", json={"name": domain}).status_code == 201
        route = api.post("/inbound-routes", json={"match": "catch_all", "pattern": domain, "action": "store"}).json()
    email = f"m-{uuid.uuid4().hex[:6]}@acme.test"
    with signed_in_client(dash_server, invite(dash_server, email, project=name, role="member"), email) as client:
        page = client.get("/app/inbound/routes").text
        assert domain in page and "Add route" not in page and "Only owners add and remove routes" in page
        made = client.post(
            "/app/inbound/routes",
            data={
                "match": "exact",
                "pattern": f"x@{domain}",
                "action": "forward",
                "forward_to": "me@evil.test",
                "forward_from": "a@acme.test",
                "csrf": csrf_of(page),
            },
        )
        assert made.status_code == 403 and "Owners only" in made.text
        removed = client.post(f"/app/inbound/routes/{route['id']}/delete", data={"csrf": csrf_of(page)})
        assert removed.status_code == 403
    with dash_server.client(keys["live"]) as api:
        assert [r["id"] for r in api.get("/inbound-routes").json()["data"]] == [route["id"]]
