"""AutoRelay on SQLite with a mailer of your own: anything with `send` and `close` (the Mailer port
in autorelay_core/ports/mail.py) takes the place of SMTP or SES. Templates, the outbox, retries and
the delivery log work as they do in `autorelay serve`.

    python examples/sqlite_custom_mailer.py
"""

import asyncio
import tempfile
from datetime import datetime
from pathlib import Path

from autorelay_core.domain.emails import Email
from autorelay_core.errors import MailerError
from autorelay_core.ports import Handover
from autorelay_core.usecases.send_email import SendCommand
from composition import AutoRelay, Settings


class ChatMailer:
    """Posts each email to a team chat instead of a mailbox (here: prints it)."""

    def __init__(self) -> None:
        self.posted: list[str] = []

    async def send(self, email: Email, sent_at: datetime, handover: Handover | None = None) -> str:
        line = f"to {', '.join(email.to)}: {email.subject}"
        # The outbox records the hand-over before it happens, so a crash right here never sends twice.
        if handover is not None and not await handover(lambda: self.posted.append(line)):
            raise MailerError("the outbox took this email back; it will be retried", permanent=False)
        if handover is None:
            self.posted.append(line)
        print("posted:", line)
        return f"chat-{len(self.posted)}"

    async def close(self) -> None:
        pass


async def main(data_dir: Path) -> None:
    mailer = ChatMailer()
    settings = Settings.defaults(data_dir=data_dir)  # SQLite: data_dir/autorelay.db, kept between runs
    async with await AutoRelay.open(settings, mailer=mailer, project="ops") as relay:
        await relay.domains.trust("ops.example")  # this mailer signs nothing: the operator vouches for the domain
        template = await relay.templates.create(
            name="deploy", subject="Deployed {{ service }} {{ version }}", html="<p>{{ service }} is live.</p>"
        )
        emails = [
            SendCommand(
                to=person,
                from_="deploys@ops.example",
                template_id=template.id,
                data={"service": "api", "version": "2.4.1"},
            )
            for person in ("ann@example.com", "bob@example.com")
        ]
        result = await relay.batch(emails)
        for row in result.rows:
            await relay.wait(row.id or "")
        print(f"{len(mailer.posted)} posted; batch {result.batch_id}: {[row.status for row in result.rows]}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main(Path(folder)))
