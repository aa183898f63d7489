"""SES feedback through SNS, against a real server using SES (moto, server mode): forged messages
are refused; a signed Permanent bounce suppresses; a subscription is confirmed."""

from __future__ import annotations

import json

import pytest

from tests.e2e.server import Server, wait_for
from tests.ses_server import CREDENTIALS, SesServer
from tests.sns_server import HOST, TOPIC, SnsServer

pytestmark = pytest.mark.e2e


def ses_event(kind: str, message_id: str, address: str) -> str:
    event = {"notificationType": kind, "mail": {"messageId": message_id}}
    if kind == "Bounce":
        event["bounce"] = {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address}],
        }
    elif kind == "TransientBounce":
        event = {"notificationType": "Bounce", "mail": {"messageId": message_id}}
        event["bounce"] = {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": address}]}
    elif kind == "Delivery":
        event["delivery"] = {"recipients": [address]}
    return json.dumps(event)


def test_signed_feedback_is_believed_and_forgeries_are_not(tmp_path):
    with SesServer() as ses, SnsServer() as sns:
        ses.verify_identity("acme.test")
        settings = {
            "AUTORELAY_MAILER": "ses",
            "AUTORELAY_SES_ENDPOINT_URL": ses.url,
            "AUTORELAY_SES_TOPIC_ARNS": TOPIC,
            "AUTORELAY_SNS_CONNECT_TO": sns.address,
            "AUTORELAY_SNS_CA_FILE": sns.ca_file(tmp_path),
            **CREDENTIALS,
        }
        server = Server(tmp_path / "feedback", settings).start()
        try:
            with server.client(server.keys["live"]) as client, server.client(None) as public:

                def email(email_id: str) -> dict:
                    return client.get(f"/emails/{email_id}").json()["email"]

                body = {"to": "gone@example.com", "from": "news@acme.test", "subject": "s", "html": "<p>x</p>"}
                sent = client.post("/emails", json=body).json()["id"]
                assert wait_for(lambda: email(sent)["status"] == "sent", 10)
                provider_id = email(sent)["providerMessageId"]
                assert provider_id

                def post(raw: bytes):
                    return public.post("/providers/ses/events", content=raw, headers={"Content-Type": "text/plain"})

                notification = {"Type": "Notification", "Message": ses_event("Bounce", provider_id, "gone@example.com")}
                good = sns.signed(notification)
                tampered = json.loads(good)
                tampered["Message"] = tampered["Message"].replace("Permanent", "Permanent ")
                assert post(json.dumps(tampered).encode()).status_code == 403
                off_aws = sns.signed(notification, cert_url="https://evil.example.com/SimpleNotificationService-x.pem")
                assert "sns.<region>.amazonaws.com" in post(off_aws).json()["error"]
                plain_http = sns.signed(notification, cert_url=f"http://{HOST}/SimpleNotificationService-test.pem")
                assert post(plain_http).status_code == 403
                foreign = json.loads(sns.signed(notification | {"TopicArn": "arn:aws:sns:us-east-1:999:other"}))
                assert post(json.dumps(foreign).encode()).status_code == 403
                assert email(sent)["status"] == "sent" and client.get("/suppressions").json()["data"] == []

                transient = {
                    "Type": "Notification",
                    "Message": ses_event("TransientBounce", provider_id, "gone@example.com"),
                }
                assert post(sns.signed(transient, version="1")).status_code == 200
                assert client.get("/suppressions").json()["data"] == []
                delivered = {"Type": "Notification", "Message": ses_event("Delivery", provider_id, "gone@example.com")}
                assert post(sns.signed(delivered)).status_code == 200
                assert "delivered" in [e["type"] for e in client.get(f"/emails/{sent}").json()["events"]]

                assert post(good).json() == {"ok": True}
                assert email(sent)["status"] == "bounced"
                assert [s["email"] for s in client.get("/suppressions").json()["data"]] == ["gone@example.com"]

                confirmation = {"Type": "SubscriptionConfirmation", "Token": "tok", "Message": "confirm"}
                confirmation["SubscribeURL"] = f"https://{HOST}/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=tok"
                assert post(sns.signed(confirmation)).json() == {"ok": True, "confirmed": True}
                assert sns.confirmed and "Action=ConfirmSubscription" in sns.confirmed[0]
        finally:
            server.stop()
