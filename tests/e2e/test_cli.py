"""The operator's commands as an operator types them, against a running server's data: listings
in aligned columns or JSON, lists, emails (list with filters, show), domains (add, list, check
against a real DNS server on loopback)."""

from __future__ import annotations

import json

import pytest

from tests.dns_server import DnsServer
from tests.e2e.server import Server, autorelay, wait_for

pytestmark = pytest.mark.e2e


def test_lists_emails_and_domains_from_the_terminal(tmp_path):
    with DnsServer() as dns_server:
        server = Server(tmp_path / "data", {"AUTORELAY_DNS_RESOLVER": dns_server.address}).start()
        try:
            run = lambda *args: autorelay(server.data_dir, *args, extra={"AUTORELAY_DNS_RESOLVER": dns_server.address})  # noqa: E731
            made = run("lists", "create", "Readers", "--double-opt-in")
            assert made.startswith("lst_") and "(double opt-in)" in made
            table = run("lists", "list").splitlines()
            assert table[0].split() == ["Id", "Name", "Contacts", "Double", "opt-in", "Created"]
            assert "Readers" in table[1] and table[0].index("Name") == table[1].index("Readers")
            assert json.loads(run("lists", "list", "--json"))[0]["double_opt-in"] == "yes"

            with server.client(server.keys["live"]) as live, server.client(server.keys["test"]) as test:
                sent = live.post(
                    "/emails",
                    json={"to": "a@example.com", "from": "news@acme.test", "subject": "Live one", "html": "<p>x</p>"},
                ).json()["id"]
                test.post(
                    "/emails",
                    json={"to": "b@example.com", "from": "x@y.example", "subject": "Test one", "html": "<p>x</p>"},
                )
                assert wait_for(lambda: live.get(f"/emails/{sent}").json()["email"]["status"] == "sent", 10)
            listed = json.loads(run("emails", "list", "--mode", "live", "--json"))
            assert [e["subject"] for e in listed] == ["Live one"]
            assert (
                json.loads(run("emails", "list", "--status", "sent", "--mode", "test", "--json"))[0]["subject"]
                == "Test one"
            )
            shown = run("emails", "show", sent)
            assert (
                "subject:" in shown
                and "Live one" in shown
                and "queued" in shown
                and "sent" in shown.split("events:")[1]
            )

            added = run("domains", "add", "cli.example")
            assert "publish these records" in added and "_domainkey.cli.example" in added
            assert "not found in DNS yet" in run("domains", "check", "cli.example")
            for line in added.splitlines()[2:]:
                kind, name, value = line.split(None, 2)
                dns_server.publish(kind, name, value)
            assert run("domains", "check", "cli.example").strip() == "cli.example is verified"
            (domain,) = [d for d in json.loads(run("domains", "list", "--json")) if d["domain"] == "cli.example"]
            assert domain["status"] == "verified" and domain["verified"]
            projects = run("projects", "list").splitlines()
            assert projects[0].split() == ["Id", "Name", "Status", "Reason"] and "default" in projects[1]
        finally:
            server.stop()
