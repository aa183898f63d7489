"""Why a received message is refused at DATA."""


class Unreadable(Exception):
    """The message is over a limit or cannot be read; the text says which, for the SMTP reply.
    `temporary`: not the message's fault (it took too long, its DNS did not answer): try later."""

    def __init__(self, text: str, *, temporary: bool = False) -> None:
        super().__init__(text)
        self.temporary = temporary
