"""POST /api/v1/providers/ses/events: SES feedback delivered by SNS (public: SNS signs, no API key)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import deps_of
from adapters.http.bodies import parse_json
from adapters.http.responses import JSON
from adapters.http.routing import resource
from autorelay_core.errors import Forbidden, Invalid
from autorelay_core.usecases.provider_feedback import Feedback, record_provider_feedback

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
    try:
        event = parse_json(text)
        kind = event.get("notificationType") or event.get("eventType")
        provider_id = event["mail"]["messageId"]
    except (Invalid, KeyError, TypeError, AttributeError):
        raise Invalid("the SNS Message is not an SES event") from None
    deps = deps_of(request)
    if kind == "Bounce":
        bounce = event.get("bounce", {})
        recipients = [r.get("emailAddress", "") for r in bounce.get("bouncedRecipients", [])]
        feedback = Feedback.PERMANENT_BOUNCE if bounce.get("bounceType") == "Permanent" else Feedback.TRANSIENT_BOUNCE
        detail = f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}"
        await record_provider_feedback(deps, provider_id, feedback, [r for r in recipients if r], detail)
    elif kind == "Complaint":
        complaint = event.get("complaint", {})
        recipients = [r.get("emailAddress", "") for r in complaint.get("complainedRecipients", [])]
        detail = str(complaint.get("complaintFeedbackType") or "complaint")
        await record_provider_feedback(deps, provider_id, Feedback.COMPLAINT, [r for r in recipients if r], detail)
    elif kind == "Delivery":
        recipients = list(event.get("delivery", {}).get("recipients", []))
        await record_provider_feedback(deps, provider_id, Feedback.DELIVERED, recipients)
    else:
        log.info("SES event %s ignored", kind)


routes = [resource("/api/v1/providers/ses/events", POST=ses_events)]
