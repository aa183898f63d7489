"""Send one email with AutoRelay embedded in a script: an in-memory database, mail written to the
log folder as .eml files (nothing leaves the machine), no server and no API key.

    python examples/send_in_memory.py
"""

import asyncio
import tempfile
from pathlib import Path

from composition import AutoRelay, Settings


async def main(data_dir: Path) -> None:
    settings = Settings.defaults(data_dir=data_dir, database_url="memory://")  # mailer "log": files in data_dir/mail
    async with await AutoRelay.open(settings, project="my-app") as relay:
        email = await relay.send(
            to="ann@example.com",
            from_="My App <hello@autorelay.net>",  # the shared sandbox sender: no domain to verify
            subject="Welcome, Ann",
            html="<p>Hello Ann, your account is ready.</p>",  # the text part is made from it
        )
        sent = await relay.wait(email.id)
        message = settings.mail_dir / f"{email.id}.eml"
        print(f"{email.id}: {sent.status.value}; the message is {message.name}, {message.stat().st_size} bytes")
        print(next(line for line in message.read_text().splitlines() if line.startswith("Subject:")))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main(Path(folder)))
