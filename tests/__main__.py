"""The whole check, as CI runs it: `python -m tests [pytest args]`.

ruff (lint and format), the import-linter contracts (the core stays framework-free), then pytest in
parallel. Stops at the first step that fails and exits with its status.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str) -> None:
    print(f"$ {' '.join(command)}", flush=True)
    status = subprocess.call(command, cwd=ROOT)
    if status != 0:
        sys.exit(status)


def main(args: list[str]) -> None:
    bin_dir = Path(sys.executable).parent
    run(sys.executable, "-m", "ruff", "check", ".")
    run(sys.executable, "-m", "ruff", "format", "--check", ".")
    run(str(bin_dir / "lint-imports") if (bin_dir / "lint-imports").exists() else "lint-imports")
    workers = os.environ.get("AUTORELAY_TEST_WORKERS", "auto")
    run(sys.executable, "-m", "pytest", "-n", workers, "--dist", "loadfile", *args)


if __name__ == "__main__":
    main(sys.argv[1:])
