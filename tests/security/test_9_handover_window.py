"""Class 9: no silent loss in the hand-over window. A worker killed after recording the hand-over
and before the server's reply leaves its email `uncertain`, never plain `sent`: transactional mail
is sent again with the same Message-ID (the default), campaign mail is held for the operator (the
default), who can list it and send it again."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

from tests.e2e.server import Server, Worker, autorelay, new_project, wait_for
from tests.smtp_sink import Sink


class SlowToAnswer(Sink):
    """Takes every message at the final "." and, until `released`, waits before saying 250: the
    moment a worker sits in the hand-over window."""

    def __init__(self) -> None:
        super().__init__()
        self.released = threading.Event()  # set from the test's thread

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        await asyncio.to_thread(self.released.wait, 60)
        return "250 2.0.0 Ok"


@pytest.fixture
def deployment(tmp_path):
    with SlowToAnswer() as sink:
        settings = sink.server_settings(tmp_path) | {
            "AUTORELAY_EMBEDDED_WORKERS": "0",  # the API process reconciles; the worker delivers
            "AUTORELAY_SECRET_KEY": uuid.uuid4().hex * 2,
        }
        data_dir = tmp_path / "window"
        api = Server(data_dir, settings).start()
        workers: list[Worker] = []
        try:
            yield api, sink, settings, workers
        finally:
            sink.released.set()
            for worker in workers:
                worker.stop()
            api.stop()


def _kill_in_the_window(api, sink, settings, workers, send) -> str:
    worker = Worker(api.data_dir, settings).start()
    workers.append(worker)
    email_id = send()
    assert wait_for(lambda: len(sink.messages) == 1, 20), "the message never reached the final '.'"
    worker.kill()  # the hand-over is recorded, the "." sent, the reply not yet read
    sink.released.set()
    return email_id


def test_transactional_mail_left_uncertain_is_sent_again_with_the_same_message_id(deployment):
    api, sink, settings, workers = deployment
    keys = new_project(api.data_dir, f"w-{uuid.uuid4().hex[:6]}")
    with api.client(keys["live"]) as client:

        def send() -> str:
            body = {"to": "reset@example.com", "from": "a@acme.test", "subject": "Reset", "html": "<p>x</p>"}
            return client.post("/emails", json=body).json()["id"]

        email_id = _kill_in_the_window(api, sink, settings, workers, send)

        def events() -> list[str]:
            return [e["type"] for e in client.get(f"/emails/{email_id}").json()["events"]]

        assert wait_for(lambda: "uncertain" in events(), 20), events()
        workers.append(Worker(api.data_dir, settings).start())
        assert wait_for(lambda: events()[-1] == "sent", 20), events()
        assert events() == ["queued", "uncertain", "sent"]
    first, second = (m.content for m in sink.messages)
    message_ids = [line for line in (first, second) for line in line.splitlines() if line.startswith(b"Message-ID:")]
    assert len(sink.messages) == 2 and message_ids[0] == message_ids[1], "a duplicate the receiver can drop"


def test_campaign_mail_left_uncertain_is_held_for_the_operator(deployment):
    api, sink, settings, workers = deployment
    project = f"c-{uuid.uuid4().hex[:6]}"
    keys = new_project(api.data_dir, project)
    with api.client(keys["live"]) as client:
        target = client.post("/lists", json={"name": "One"}).json()["id"]
        client.post("/contacts", json={"email": "reader@example.com", "listId": target})
        body = {"name": "c", "subject": "News", "fromEmail": "news@acme.test", "listId": target}
        campaign = client.post("/campaigns", json=body | {"content": "<p>Hi</p>"}).json()["id"]

        def send() -> str:
            assert client.post(f"/campaigns/{campaign}/launch").status_code == 200
            return ""

        _kill_in_the_window(api, sink, settings, workers, send)
        workers.append(Worker(api.data_dir, settings).start())

        def progress() -> dict:
            return client.get(f"/campaigns/{campaign}").json()["data"]

        # GET /campaigns/:id is limited to 60 a minute per key: poll once a second.
        done = wait_for(lambda: (p := progress())["status"] == "completed" and p, 30, interval=1)
        assert done, progress()
        assert done["progress"] == {"total": 1, "sent": 0, "failed": 0, "uncertain": 1, "percent": 100.0}
        (held,) = client.get("/emails", params={"status": "uncertain"}).json()["emails"]
        assert len(sink.messages) == 1, "held: not sent again by itself"
        listed = autorelay(api.data_dir, "emails", "uncertain", "--project", project)
        assert held["id"] in listed
        autorelay(api.data_dir, "emails", "resend", held["id"], "--project", project)
        assert wait_for(lambda: client.get(f"/emails/{held['id']}").json()["email"]["status"] == "sent", 20)
        assert len(sink.messages) == 2
