"""Open and click tracking over the memory adapters: what goes into the outgoing HTML, and what a
fetch of the pixel or a click records (status, counters, campaign stats, webhooks)."""

from __future__ import annotations

import html
import json
import re

import pytest
from attrs import evolve

from autorelay_core.domain.emails import EmailStatus
from autorelay_core.errors import Invalid
from autorelay_core.usecases import manage_campaigns
from autorelay_core.usecases.deliver_email import drain
from autorelay_core.usecases.manage_webhooks import WebhookInput, create_webhook
from autorelay_core.usecases.read_emails import get_email
from autorelay_core.usecases.send_email import send_email
from autorelay_core.usecases.tracking import record_click, record_open
from tests.support import ManualQueue, RecordingPoster, make_deps
from tests.unit.test_campaigns import _launched_to
from tests.unit.test_send_email import command, live_key
from tests.unit.test_webhooks import PublicDns

PAGE = (
    '<html><body><p>Hi</p><a href="https://shop.example.com/sale?a=1&amp;b=2">Sale</a>'
    "<a href='http://docs.example.com/'>Docs</a><a href=\"mailto:help@acme.test\">Mail us</a>"
    '<a href="#top">Top</a></body></html>'
)


@pytest.fixture
def poster():
    return RecordingPoster()


@pytest.fixture
def deps(clock, mailer, poster):
    return evolve(make_deps(clock=clock, mailer=mailer, queue=ManualQueue()), dns=PublicDns(), webhook_poster=poster)


def _links(sent_html: str, kind: str) -> list[str]:
    return [html.unescape(u) for u in re.findall(rf'"(http://localhost:3000/api/v1/track/{kind}/[^"]+)"', sent_html)]


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def test_http_links_go_through_the_redirect_and_a_pixel_is_added(deps, mailer):
    key = await live_key(deps)
    email = await send_email(deps, key, command(html=PAGE))
    await drain(deps)
    (sent,) = mailer.sent
    clicks, opens = _links(sent.html, "click"), _links(sent.html, "open")
    assert len(clicks) == 2 and len(opens) == 1
    assert 'href="mailto:help@acme.test"' in sent.html and 'href="#top"' in sent.html
    assert sent.html.index("/track/open/") < sent.html.index("</body>")
    stored, _ = await get_email(deps, key, email.id)
    assert stored.html == PAGE  # what the customer wrote is what is stored
    assert "track" not in (sent.text or "")  # the text part keeps the original links
    assert await record_click(deps, _token(clicks[0])) == "https://shop.example.com/sale?a=1&b=2"
    assert await record_click(deps, _token(clicks[1])) == "http://docs.example.com/"


async def test_opens_and_clicks_move_status_counters_and_tell_webhooks(deps, mailer, poster):
    key = await live_key(deps)
    await create_webhook(deps, key, WebhookInput("https://hooks.example.com/", ["email.opened", "email.clicked"]))
    email = await send_email(deps, key, command(html=PAGE))
    await drain(deps)
    (sent,) = mailer.sent
    (pixel,) = _links(sent.html, "open")
    await record_open(deps, _token(pixel), "192.0.2.1")
    await record_open(deps, _token(pixel), "192.0.2.2")
    stored, events = await get_email(deps, key, email.id)
    assert stored.status is EmailStatus.OPENED and stored.opens == 2
    link = _links(sent.html, "click")[0]
    await record_click(deps, _token(link))
    stored, events = await get_email(deps, key, email.id)
    assert stored.status is EmailStatus.CLICKED and stored.clicks == 1
    assert events[-1].data == {"url": "https://shop.example.com/sale?a=1&b=2"}
    await record_open(deps, _token(pixel), "192.0.2.3")  # a later open keeps the furthest status
    stored, _ = await get_email(deps, key, email.id)
    assert stored.status is EmailStatus.CLICKED and stored.opens == 3
    await drain(deps)
    kinds = [json.loads(body)["type"] for _, _, body in poster.posted]
    assert kinds == ["email.opened", "email.opened", "email.clicked", "email.opened"]
    assert json.loads(poster.posted[2][2])["data"]["url"] == "https://shop.example.com/sale?a=1&b=2"


async def test_a_scanner_fetching_the_pixel_a_hundred_times_records_one_open(deps, mailer, poster, clock):
    key = await live_key(deps)
    await create_webhook(deps, key, WebhookInput("https://hooks.example.com/", ["email.opened"]))
    email = await send_email(deps, key, command(html=PAGE))
    await drain(deps)
    (pixel,) = _links(mailer.sent[0].html, "open")
    for _ in range(100):
        await record_open(deps, _token(pixel), "198.51.100.7")
    clock.advance(seconds=61)
    await record_open(deps, _token(pixel), "198.51.100.7")  # a minute on, the same client counts again
    for client in range(40):  # every client together: at most 20 an hour for one email
        await record_open(deps, _token(pixel), f"203.0.113.{client}")
    stored, _ = await get_email(deps, key, email.id)
    assert stored.opens == 20
    await drain(deps)
    assert len(poster.posted) == 20


@pytest.mark.parametrize("kind", ["open", "click"])
async def test_a_tampered_or_foreign_token_is_refused(deps, mailer, kind):
    key = await live_key(deps)
    await send_email(deps, key, command(html=PAGE))
    await drain(deps)
    token = _token(_links(mailer.sent[0].html, kind)[0])
    record = record_open if kind == "open" else record_click
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (tampered, "x" + token, deps.signer.sign("unsubscribe", ("a", "b"))):
        with pytest.raises(Invalid, match="not valid"):
            await record(deps, bad)
    other_kind = "click" if kind == "open" else "open"
    with pytest.raises(Invalid):
        await (record_click if other_kind == "click" else record_open)(deps, token)


async def test_a_project_can_turn_each_kind_off(deps, mailer):
    key = await live_key(deps)
    await deps.storage.projects.set_tracking(key.project_id, opens=False, clicks=True)
    await send_email(deps, key, command(html=PAGE))
    await drain(deps)
    assert _links(mailer.sent[0].html, "open") == [] and len(_links(mailer.sent[0].html, "click")) == 2
    await deps.storage.projects.set_tracking(key.project_id, opens=False, clicks=False)
    await send_email(deps, key, command(html=PAGE))
    await drain(deps)
    assert mailer.sent[1].html == PAGE


async def test_campaign_stats_follow_engagement_and_the_unsubscribe_link_is_not_tracked(deps, mailer):
    key = await live_key(deps)
    content = '<p>Hi {{name}}</p><a href="https://acme.test/new">New</a><a href="{{unsubscribe_url}}">Leave</a>'
    campaign = await _launched_to(deps, key, "Ann", "Bob", content=content)
    await drain(deps)
    deps.clock.advance(seconds=1)  # the campaign's pace
    await drain(deps)
    first, second = mailer.sent
    assert len(_links(first.html, "click")) == 1 and "/api/v1/unsubscribe?token=" in first.html
    await record_open(deps, _token(_links(first.html, "open")[0]))
    await record_click(deps, _token(_links(second.html, "click")[0]))
    live = await manage_campaigns.progress(deps, await manage_campaigns.get_campaign(deps, key, campaign.id))
    assert live.statuses[EmailStatus.OPENED] == 1 and live.statuses[EmailStatus.CLICKED] == 1
