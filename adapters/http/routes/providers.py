"""POST /api/v1/providers/ses/events: SES feedback delivered by SNS (public: SNS signs, no API key)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import deps_of
from adapters.http.bodies import parse_json
from adapters.http.responses import JSON
from adapters.http.routing import resource
from adapters.returned_mail.ses import read_ses_event
from autorelay_core.errors import Forbidden, Invalid
from autorelay_core.usecases.provider_feedback import record_provider_feedback

log = logging.getLogger("autorelay.ses")


async def ses_events(request: Request) -> Response:
    verifier = request.app.state.sns
    # Anything that is not a signed message from a trusted topic is refused alike: 403.
    try:
        message = parse_json(await request.body())  # SNS posts JSON as text/plain
    except Invalid as error:
        raise Forbidden(f"not an SNS message: {error.message}") from None
    if not isinstance(message, dict):
        raise Forbidden("not an SNS message: the body is not a JSON object")
    await verifier.verify(message)  # Forbidden unless topic, certificate host and signature check out
    if message["Type"] == "SubscriptionConfirmation":
        await verifier.confirm(message)
        return JSON({"ok": True, "confirmed": True})
    if message["Type"] == "Notification":
        await _notification(request, message.get("Message", ""))
    return JSON({"ok": True})


async def _notification(request: Request, text: str) -> None:
    event = read_ses_event(text)
    if event is None:
        log.info("SES event ignored (neither a bounce, a complaint nor a delivery)")
        return
    await record_provider_feedback(deps_of(request), event.provider_id, event.feedback, event.recipients, event.detail)


routes = [resource("/api/v1/providers/ses/events", POST=ses_events)]
