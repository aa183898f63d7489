"""The guarded SMTP listener both SMTP doors stand on (the relay, the returned-mail listener)."""
