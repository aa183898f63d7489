"""The security suite: each test attacks a real `autorelay serve` (uvicorn on a free port) as a
tenant or a stranger would, and checks what the server answered and what it wrote (message files,
the database). Runs on the embedded profile and, with AUTORELAY_TEST_PROFILE=postgres, on
PostgreSQL + Redis."""

import pytest

from tests import backends
from tests.e2e.server import Server


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/security/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("security")).start()
    yield srv
    srv.stop()


@pytest.fixture
def live(server):
    with server.client(server.keys["live"]) as client:
        yield client


@pytest.fixture
def test_key(server):
    with server.client(server.keys["test"]) as client:
        yield client


@pytest.fixture(scope="session", autouse=True)
def drop_postgres_schemas():
    yield
    backends.drop_server_schemas()
