"""Open and click tracking: the pixel and the link redirects put into outgoing HTML, and the events
they record when a recipient's mail client fetches them.

Both URLs carry a token signed with the server secret, so a click can only ever redirect to a link
that was in the message (never an open redirect) and nobody can record engagement for an email
they did not receive.
"""

from __future__ import annotations

import html
import re

from autorelay_core.domain.emails import Email, EventType
from autorelay_core.domain.projects import Project
from autorelay_core.errors import Conflict, Invalid
from autorelay_core.policies.rate_limit import HOUR, MINUTE, Limit, Scope
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.record_events import record_event

# An <a> tag's href attribute, quoted either way. A regex rather than an HTML parser: it leaves every
# other byte of the author's HTML exactly as written, which a parse-and-serialise round trip does not.
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def tracked_html(deps: Deps, email: Email, project: Project | None) -> str:
    """The HTML to send: http(s) links through the click redirect (not the unsubscribe link, which
    must keep working in one click) and an open pixel, as the project's settings say."""
    source = email.html
    if project is None or email.sealed or not source:  # a text-only email has nothing to track
        return source
    base = deps.config.tracking_url
    if project.track_clicks:

        def through_redirect(match: re.Match[str]) -> str:
            raw = match.group(2) if match.group(2) is not None else match.group(3)
            url = html.unescape(raw).strip()
            own = (deps.config.unsubscribe_url, deps.config.preferences_url)  # the person's, not a click
            if not url.lower().startswith(("http://", "https://")) or url.startswith(own):
                return match.group(0)
            token = deps.signer.sign("click", (email.project_id, email.id, url))
            return f'{match.group(1)}"{html.escape(f"{base}/click/{token}")}"'

        source = _HREF.sub(through_redirect, source)
    if project.track_opens:
        token = deps.signer.sign("open", (email.project_id, email.id))
        pixel = (
            f'<img src="{html.escape(f"{base}/open/{token}")}" width="1" height="1" alt=""'
            ' style="display:block;width:1px;height:1px;border:0" />'
        )
        ends = list(_BODY_END.finditer(source))
        source = f"{source[: ends[-1].start()]}{pixel}{source[ends[-1].start() :]}" if ends else source + pixel
    return source


# What one email's engagement may record. The pixel and the links are public: a link scanner, a
# proxy or a curious recipient fetching them a hundred times would otherwise make a hundred events
# and a hundred webhook posts. Fetches past these limits are still answered (the image, the
# redirect), just not recorded. Per client: one open a minute, a few clicks; per email, from
# every client together: what a message forwarded around an office might honestly see.
_RECORDED = {
    EventType.OPENED: (Limit(1, MINUTE, Scope.IP), Limit(20, HOUR)),
    EventType.CLICKED: (Limit(5, MINUTE, Scope.IP), Limit(50, HOUR)),
}


async def record_open(deps: Deps, token: str, client: str = "") -> None:
    fields = deps.signer.unsign("open", token)
    if fields is None or len(fields) != 2:
        raise Invalid("this tracking link is not valid")
    await _record(deps, fields[0], fields[1], EventType.OPENED, client)


async def record_click(deps: Deps, token: str, client: str = "") -> str:
    """The link that was in the message, after recording the click."""
    fields = deps.signer.unsign("click", token)
    if fields is None or len(fields) != 3:
        raise Invalid("this tracking link is not valid")
    project_id, email_id, url = fields
    await _record(deps, project_id, email_id, EventType.CLICKED, client, url=url)
    return url


async def _worth_recording(deps: Deps, email_id: str, kind: EventType, client: str) -> bool:
    now = deps.clock.now().timestamp()
    for limit in _RECORDED[kind]:
        subject = f"{email_id}:{client}" if limit.scope is Scope.IP else email_id
        if not (await deps.rate_limits.hit(f"track-{kind.value}|{limit.scope.value}:{subject}", now, limit)).allowed:
            return False
    return True


async def _record(deps: Deps, project_id: str, email_id: str, kind: EventType, client: str, **data: str) -> None:
    if not await _worth_recording(deps, email_id, kind, client):
        return
    email = await deps.storage.emails.get(project_id, email_id)
    if email is None:
        return
    try:
        await record_event(deps, email, kind, **data)
    except Conflict:  # a bounced or complained email keeps that status; the fetch still works
        return
