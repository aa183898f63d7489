"""Returned mail, however it comes back, read into the core's one feedback rule: the inbound SMTP
listener and a polled IMAP mailbox (DSN and ARF reports, read by reports.py, taken in by intake.py),
and SES's feedback as SNS delivers it (sns.py checks the signature, ses.py reads the event)."""
