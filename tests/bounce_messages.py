"""Returned mail as receiving MTAs write it: an RFC 3464 DSN and an ARF (RFC 5965) complaint."""

from __future__ import annotations

BOUNCES = "bounces.test"


def dsn(return_path: str, recipient: str, status: str, diagnostic: str) -> bytes:
    """An RFC 3464 delivery status notification, as a receiving MTA writes one."""
    boundary = "dsn-boundary"
    action = "failed" if status.startswith("5") else "delayed"
    return (
        f"From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\nTo: {return_path}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.example.com.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def arf(return_path: str, recipient: str) -> bytes:
    boundary = "arf-boundary"
    return (
        f"From: abuse@provider.example\r\nTo: fbl@{BOUNCES}\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=feedback-report; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nAn abuse report.\r\n"
        f"--{boundary}\r\nContent-Type: message/feedback-report\r\n\r\n"
        f"Feedback-Type: abuse\r\nUser-Agent: ProviderFBL/2.0\r\nVersion: 1\r\n"
        f"Original-Mail-From: <{return_path}>\r\nOriginal-Rcpt-To: <{recipient}>\r\n\r\n"
        f"--{boundary}\r\nContent-Type: message/rfc822\r\n\r\nFrom: news@acme.test\r\nTo: {recipient}\r\n"
        f"Subject: Spring\r\n\r\nSpring.\r\n--{boundary}--\r\n"
    ).encode()
