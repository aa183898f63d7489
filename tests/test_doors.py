"""Every door goes through the core: the API, the dashboard, the SMTP relay and returned-mail
intake, the CLI and the embedding facade call use cases, never the storage ports. Imports cannot
say this (the doors may name a port's value types), so this test reads the code: no attribute
called `storage` is touched outside the core, the storage adapters and the composition root's
wiring (build.py, services.py)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOORS = ["adapters/http", "adapters/dashboard", "adapters/smtp_relay", "composition", "examples"]
WIRING = {"composition/build.py", "composition/services.py"}


def storage_uses(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "storage"]


def test_no_door_reaches_past_the_use_cases_into_storage():
    found = []
    for door in DOORS:
        for path in sorted((ROOT / door).rglob("*.py")):
            name = str(path.relative_to(ROOT))
            if name not in WIRING:
                found += [f"{name}:{line}" for line in storage_uses(path)]
    assert found == [], "call a use case (autorelay_core/usecases) instead of the storage ports:\n" + "\n".join(found)


def test_the_check_sees_a_storage_call():
    sample = ROOT / "tests" / "fixtures" / "door_with_storage_call.py.txt"
    assert storage_uses(sample) == [3]


def test_the_access_rule_is_written_once():
    """Account status, scope and rate limit are decided by usecases/access.admit; no door calls
    the pieces it is made of."""
    pieces = ("check_access(", "enforce(")
    callers = []
    for door in ["adapters", "composition", "autorelay_core/usecases"]:
        for path in sorted((ROOT / door).rglob("*.py")):
            name = str(path.relative_to(ROOT))
            if name in {"autorelay_core/usecases/access.py", "autorelay_core/usecases/enforce_limits.py"}:
                continue
            text = path.read_text()
            callers += [f"{name}: {piece}" for piece in pieces if piece in text.replace(f"def {piece}", "")]
    # Calls that are not the caller's access: limits on a stranger's IP (unsubscribe links and the
    # preference page, which share one budget) and on an OTP's recipient (known once the body is read).
    assert sorted(callers) == [
        "adapters/http/routes/preferences.py: enforce(",
        "adapters/http/routes/unsubscribe.py: enforce(",
        "autorelay_core/usecases/otp.py: enforce(",
    ]
