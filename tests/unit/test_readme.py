"""The README's embedding example (the tour's fourth step) runs as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_embedding_example_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README lost its embedding example"
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("AUTORELAY_")]:
        monkeypatch.delenv(name)  # the example runs on the embedded defaults, as a newcomer's would
    exec(compile(blocks[0], "README.md", "exec"), {"__name__": "readme"})
    email_id, message_id = capsys.readouterr().out.split()
    assert email_id.startswith("em_") and message_id.endswith("@autorelay.net>")  # the sender's domain
    assert (tmp_path / "autorelay-data" / "mail" / f"{email_id}.eml").exists()
