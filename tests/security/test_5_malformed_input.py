"""Class 5: malformed input never reaches a 500, and a stranger's bad request costs one log line."""

from __future__ import annotations

import httpx

from tests.e2e.server import Server

DEEP = b'{"to": ' + b"[" * 5000 + b"]" * 5000 + b"}"
JUST_TOO_DEEP = b'{"data": ' + b'{"a": ' * 32 + b"1" + b"}" * 32 + b"}"


def test_deep_json_is_a_400_on_every_endpoint_with_or_without_a_key(server, live):
    headers = {"content-type": "application/json"}
    for path in ("/emails", "/emails/batch", "/contacts", "/contacts/import", "/campaigns", "/webhooks", "/lists"):
        for body in (DEEP, JUST_TOO_DEEP):
            answer = live.post(path, content=body, headers=headers)
            assert answer.status_code == 400, (path, answer.status_code, answer.text)
            assert "nested more than 32 levels deep" in answer.json()["error"], (path, answer.text)
    public = httpx.post(f"{server.base}/api/v1/unsubscribe", content=DEEP, headers=headers)
    assert public.status_code == 400 and "nested more than 32 levels deep" in public.text
    sns = httpx.post(f"{server.base}/api/v1/providers/ses/events", content=DEEP)
    assert sns.status_code == 403 and "nested more than 32 levels deep" in sns.text
    nul = live.post("/emails", content=b'{"to": "a@example.com", "subject": "a\\u0000b"}', headers=headers)
    assert nul.status_code == 400 and "subject must not contain the NUL character" in nul.text


def test_cursors_that_name_nothing_are_a_400(live):
    for path, params, field in (
        ("/emails", {"startingAfter": "em_doesnotexist"}, "startingAfter"),
        ("/assets", {"cursor": "ast_doesnotexist"}, "cursor"),
        ("/suppressions", {"cursor": "not an address"}, "cursor"),
    ):
        answer = live.get(path, params=params)
        assert answer.status_code == 400 and field in answer.json()["error"], (path, answer.text)


def test_unsubscribe_refuses_unknown_fields_and_large_bodies(server):
    url = f"{server.base}/api/v1/unsubscribe"
    answer = httpx.post(url, json={"token": "x", "listId": "lst_1"})
    assert answer.status_code == 400 and answer.json() == {"ok": False, "error": answer.json()["error"]}
    assert "unknown field(s): listId" in answer.json()["error"]
    huge = httpx.post(url, content=b"x" * (65 * 1024), headers={"content-type": "application/json"})
    assert huge.status_code == 413


def test_client_errors_from_strangers_cost_one_log_line_each(tmp_path):
    server = Server(tmp_path / "logs", {"AUTORELAY_LOG_LEVEL": "INFO"}).start()
    junk = [
        ("POST", "/api/v1/unsubscribe", {"content": b"{", "headers": {"content-type": "application/json"}}),
        (
            "POST",
            "/api/v1/unsubscribe",
            {"content": b"--x\r\n", "headers": {"content-type": "multipart/form-data; boundary=x"}},
        ),
        ("POST", "/api/v1/unsubscribe", {"content": b"x", "headers": {"content-type": "multipart/form-data"}}),
        ("GET", "/api/v1/unsubscribe?token=%ff%fe", {}),
        ("GET", "/api/v1/track/open/%ff%fe", {}),
        ("GET", "/api/v1/track/click/" + "a." * 2000, {}),
        ("POST", "/api/v1/providers/ses/events", {"content": b'{"Type": 1, "TopicArn": []}'}),
        ("POST", "/api/v1/providers/ses/events", {"content": DEEP}),
        ("GET", "/files/%00", {}),
        ("GET", "/api/v1/track/open/x%0d%0aFORGED ERROR autorelay: all mail lost", {}),
        ("POST", "/api/v1/emails", {"content": b"{}", "headers": {"authorization": "Bearer ak_live_zz"}}),
    ]
    # A tenant's own mistakes are answered, not logged: the log is for strangers' probing.
    tenant = {"authorization": f"Bearer {server.keys['live']}"}
    mistakes = [
        ("POST", "/api/v1/emails", {"content": b"{}", "headers": tenant}),
        ("GET", "/api/v1/contacts", {"headers": tenant}),
    ]
    try:
        with httpx.Client(base_url=server.base, timeout=10) as client:
            for method, path, options in junk + mistakes:
                answer = client.request(method, path, **options)
                assert 400 <= answer.status_code < 500, (method, path, answer.status_code)
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log and "Internal server error" not in log
    lines = [line for line in log.splitlines() if "client error" in line]
    assert len(lines) == len(junk), "\n".join(lines)
    assert not any(line.startswith("FORGED") for line in log.splitlines()), "a stranger wrote a log line"
