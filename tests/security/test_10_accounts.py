"""Second pass, accounts: an owner inviting another project's user gains no way into their account
(#32 item 1), a sign-in link is redeemed once however many race for it (item 9), and a stranger's
wrong guesses never lock a user out (item 10). Attacks a real `autorelay serve`."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx

from tests.dashboard.conftest import PASSWORD, csrf_of, invite, link_path, signed_in_client
from tests.e2e.server import Server, autorelay, new_project

WELCOME = re.compile(r"/app/welcome\?token=")


def _sign_in(server: Server, email: str, password: str, source: str = "127.0.0.1") -> httpx.Response:
    """A sign-in from `source` (another loopback address stands for another client)."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=server.base, transport=transport, timeout=30) as client:
        return client.post("/app/sign-in", data={"email": email, "password": password})


def test_inviting_another_projects_owner_shows_no_link_and_takes_nothing(server):
    victim_project = f"victim-{uuid.uuid4().hex[:6]}"
    new_project(server.data_dir, victim_project)
    victim = f"bob-{uuid.uuid4().hex[:6]}@acme.test"
    attacker = f"eve-{uuid.uuid4().hex[:6]}@acme.test"
    with (
        signed_in_client(server, invite(server, victim, project=victim_project, role="owner")) as bob,
        signed_in_client(server, invite(server, attacker, role="owner")) as eve,
    ):
        token = csrf_of(eve.get("/app/settings").text)
        answer = eve.post("/app/settings/members", data={"email": victim.upper(), "role": "owner", "csrf": token})
        assert answer.status_code == 201, answer.text
        assert not WELCOME.search(answer.text), "a page showed a link that sets another user's password"
        assert "already has an AutoRelay account" in answer.text
        # The victim keeps their password and their session; the attacker's project gained a member.
        assert bob.get("/app/overview").status_code == 200
        assert _sign_in(server, victim, PASSWORD).status_code == 303
        assert victim in eve.get("/app/settings").text
        # Nor does the operator's CLI print a link for an account that has a password.
        out = autorelay(server.data_dir, "users", "create", victim, "--project", "default")
        assert not WELCOME.search(out) and "own password" in out


def test_a_link_voided_when_another_project_invites_its_user(server):
    person = f"dan-{uuid.uuid4().hex[:6]}@acme.test"
    first_link = invite(server, person)  # default's invitation: not used yet
    other = f"other-{uuid.uuid4().hex[:6]}"
    new_project(server.data_dir, other)
    with signed_in_client(
        server, invite(server, f"o-{uuid.uuid4().hex[:6]}@acme.test", project=other, role="owner")
    ) as owner:
        token = csrf_of(owner.get("/app/settings").text)
        answer = owner.post("/app/settings/members", data={"email": person, "csrf": token})
        assert answer.status_code == 201 and not WELCOME.search(answer.text)
    with httpx.Client(base_url=server.base) as client:
        used = client.post(link_path(first_link), data={"password": PASSWORD, "password_again": PASSWORD})
        assert used.status_code == 400 and "already used or replaced" in used.text


def test_a_link_posted_six_times_at_once_makes_one_session(server):
    link = link_path(invite(server, f"race-{uuid.uuid4().hex[:6]}@acme.test"))

    async def race() -> list[httpx.Response]:
        async def one(i: int) -> httpx.Response:
            async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
                form = {"password": f"{PASSWORD} {i}", "password_again": f"{PASSWORD} {i}"}
                answer = await client.post(link, data=form)
                answer.cookie = client.cookies.get("autorelay_session")  # type: ignore[attr-defined]
                return answer

        return await asyncio.gather(*(one(i) for i in range(6)))

    answers = asyncio.run(race())
    codes = sorted(a.status_code for a in answers)
    assert codes == [303] + [400] * 5, codes
    sessions = [a.cookie for a in answers if a.cookie]  # type: ignore[attr-defined]
    assert len(sessions) == 1
    with httpx.Client(base_url=server.base, cookies={"autorelay_session": sessions[0]}) as client:
        assert client.get("/app/overview").status_code == 200


def test_a_strangers_guesses_do_not_lock_the_user_out(server):
    email = f"carol-{uuid.uuid4().hex[:6]}@acme.test"
    with signed_in_client(server, invite(server, email)):
        pass
    codes = [_sign_in(server, email, "stranger's guess", "127.0.0.2").status_code for _ in range(11)]
    assert codes == [401] * 10 + [429], codes
    assert _sign_in(server, email, PASSWORD, "127.0.0.2").status_code == 429, "the guessing client waits"
    assert _sign_in(server, email, PASSWORD, "127.0.0.1").status_code == 303, "the user is not locked out"
    # The user's own typos are forgiven by their next success.
    for _ in range(3):
        for _ in range(9):
            assert _sign_in(server, email, "my own typo!", "127.0.0.3").status_code == 401
        assert _sign_in(server, email, PASSWORD, "127.0.0.3").status_code == 303
