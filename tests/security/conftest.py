"""The security suite: each test attacks a real `autorelay serve` (uvicorn on a free port) as a
tenant or a stranger would, and checks what the server answered and what it wrote (message files,
the database). Runs on the embedded profile and, with AUTORELAY_TEST_PROFILE=postgres, on
PostgreSQL + Redis. The fixtures are the end-to-end suite's."""

import pytest

from tests.e2e.conftest import drop_postgres_schemas, live, server  # noqa: F401 (fixtures)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/security/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
