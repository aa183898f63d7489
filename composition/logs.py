"""How the process logs: a readable line by default, or one JSON object per line with
AUTORELAY_LOG_FORMAT=json (for log shippers). Log calls pass ids and reasons, never keys, secrets
or message bodies; the JSON formatter adds nothing the text line does not have."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: str, form: str) -> None:
    handler = logging.StreamHandler()
    if form == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # flufl.bounce logs a line per detector for every message read (strangers' mail, so the
    # volume is theirs to choose) and a traceback for a detector that fails, which the intake
    # already handles: its own line per message says what came of it.
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)
    # Huey says at INFO that it ran each job (a delivery pass: several a second when busy); its
    # warnings and errors still show. AUTORELAY_LOG_LEVEL=DEBUG brings the lines back.
    if level.upper() != "DEBUG":
        logging.getLogger("huey").setLevel(logging.WARNING)
