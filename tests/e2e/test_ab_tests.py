"""A/B tests through a real server: a test refused with the field named, a manual test whose winner a
person picks after reading each variant's numbers, and an automatic test whose runner is killed
(SIGKILL) in the test share and again in the rest, counted at Postfix's smtp-sink: every recipient
got exactly one message, the test share split evenly, the rest all the winner."""

from __future__ import annotations

import email
import email.policy
import random
import re
import time
import uuid
from collections import Counter

import pytest

from autorelay_core.domain.ab_tests import assign
from tests.e2e.server import Server, new_project, wait_for
from tests.e2e.test_campaign_kills import KilledRunner, completed, runner_settings
from tests.postfix import SmtpSink

pytestmark = pytest.mark.e2e

VARIANTS = [{"subject": "A {{ name }}"}, {"subject": "B {{ name }}", "fromName": "Bea at Acme"}]


def test_a_person_reads_each_variants_numbers_and_picks_the_winner(server):
    tag = uuid.uuid4().hex[:6]
    keys = new_project(server.data_dir, f"ab-{tag}")
    with server.client(keys["live"]) as api:
        people = api.post("/lists", json={"name": "People"}).json()["id"]
        rows = [{"email": f"p{n}-{tag}@example.com", "name": f"P{n}"} for n in range(12)]
        assert api.post("/contacts/import", json={"listId": people, "contacts": rows}).json()["importedCount"] == 12
        body = {"name": "AB", "subject": "S", "fromEmail": "News <news@acme.test>", "listId": people}
        body |= {"content": "<p>Hello {{ name }}</p>"}
        for test, problem in [
            ({"variants": [{"subject": "x"}]}, "abTest.variants must be a list of 2 to 4 variants"),
            ({"variants": VARIANTS, "pick": "coin"}, "abTest.pick must be auto or manual"),
        ]:
            refused = api.post("/campaigns", json=body | {"abTest": test})
            assert refused.status_code == 400 and problem in refused.json()["error"], refused.text
        test = {"variants": VARIANTS, "testPercent": 50, "waitMinutes": 0, "pick": "manual"}
        campaign = api.post("/campaigns", json=body | {"abTest": test}).json()
        assert [v["name"] for v in campaign["abTest"]["variants"]] == ["A", "B"]
        assert api.post(f"/campaigns/{campaign['id']}/launch").status_code == 200

        def tested() -> dict | None:
            data = api.get(f"/campaigns/{campaign['id']}").json()["data"]
            return data if data["progress"]["sent"] == 6 else None

        data = wait_for(tested, 20)
        assert data and data["status"] == "sending" and data["progress"]["total"] == 6, data
        shown = data["abTest"]
        assert [v["results"]["sent"] for v in shown["variants"]] == [3, 3]
        assert (shown["winner"], shown["leader"], shown["decidesAt"]) == (None, None, None), "a tie: nobody ahead"
        time.sleep(1.5)  # a few reconciler rounds: a manual test waits for its person
        assert api.get(f"/campaigns/{campaign['id']}").json()["data"]["abTest"]["winner"] is None

        assert api.post(f"/campaigns/{campaign['id']}/winner", json={"variant": "E"}).status_code == 400
        picked = api.post(f"/campaigns/{campaign['id']}/winner", json={"variant": "B"})
        assert picked.status_code == 200 and picked.json()["data"]["abTest"]["winner"] == "B", picked.text
        again = api.post(f"/campaigns/{campaign['id']}/winner", json={"variant": "A"})
        assert again.status_code == 409 and "already picked: variant B" in again.json()["error"]

        def finished() -> dict | None:
            data = api.get(f"/campaigns/{campaign['id']}").json()["data"]
            return data if data["status"] == "completed" else None

        data = wait_for(finished, 20)
        assert data and data["progress"]["total"] == 12 and data["progress"]["sent"] == 12, data
    messages = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in (server.data_dir / "mail").glob("*.eml")
    ]
    ours = [m for m in messages if str(m["To"]).endswith(f"-{tag}@example.com")]
    assert Counter(str(m["To"]) for m in ours) == {r["email"]: 1 for r in rows}
    assert Counter(str(m["Subject"])[0] for m in ours) == {"A": 3, "B": 9}
    assert {str(m["From"]) for m in ours if str(m["Subject"]).startswith("B")} == {"Bea at Acme <news@acme.test>"}


PEOPLE = 2_000


def test_an_ab_campaign_survives_sigkills_of_its_runner_in_the_test_and_in_the_rest(tmp_path):
    chance = random.Random()
    test_share = PEOPLE * 30 // 100
    kill_points = [chance.randrange(100, test_share - 100), chance.randrange(test_share + 200, PEOPLE - 200)]
    with SmtpSink(dump=True) as sink:
        settings = runner_settings(sink)
        data_dir = tmp_path / "ab-kills"
        api = Server(data_dir, settings).start()
        runner = KilledRunner(data_dir, settings)
        try:
            keys = new_project(data_dir, f"abkill-{uuid.uuid4().hex[:6]}")
            with api.client(keys["live"]) as client:
                target = client.post("/lists", json={"name": "Everyone"}).json()["id"]
                rows = [{"email": f"p{i}@example.com", "name": f"P{i}"} for i in range(PEOPLE)]
                imported = client.post("/contacts/import", json={"listId": target, "contacts": rows}, timeout=120)
                assert imported.json()["importedCount"] == PEOPLE
                test = {"variants": VARIANTS, "testPercent": 30, "waitMinutes": 0}
                body = {"name": "AB", "subject": "S", "fromEmail": "news@acme.test", "listId": target}
                made = client.post("/campaigns", json=body | {"content": "<p>Hi</p>", "abTest": test}).json()
                campaign = made["id"]
                assert client.post(f"/campaigns/{campaign}/launch", timeout=120).json()["status"] == "sending"
                runner.run(sink, kill_points, chance)
                data = completed(client, campaign)
                assert data, client.get(f"/campaigns/{campaign}").json()
                assert data["progress"]["total"] == PEOPLE and data["progress"]["failed"] == 0, data["progress"]
                assert data["abTest"]["winner"] == "A", "no opens on either side: the tie goes to A"
        finally:
            runner.stop()
            api.stop()
        subjects: dict[str, list[str]] = {}
        for recipients, held in sink.transactions():
            subject = re.search(rb"^Subject: (.)", held, re.M)[1].decode()
            for to in recipients:
                subjects.setdefault(to, []).append(subject)
    assert [to for to, got in subjects.items() if len(got) > 1] == [], "someone got two"
    missing = {f"p{i}@example.com" for i in range(PEOPLE)} - set(subjects)
    assert len(missing) <= data["progress"]["uncertain"], "marked sent but never received"
    # Who was meant to get which: the same split the server made (a pure function of the campaign).
    groups, rest = assign(campaign, [f"p{i}@example.com" for i in range(PEOPLE)], 30, 2)
    assert len(groups) == test_share and Counter(groups.values()) == {0: test_share // 2, 1: test_share // 2}
    expected = {to: "AB"[variant] for to, variant in groups.items()} | dict.fromkeys(rest, "A")
    wrong = {to: got[0] for to, got in subjects.items() if got[0] != expected[to]}
    assert wrong == {}, "a test recipient got another variant, or the rest not the winner"
