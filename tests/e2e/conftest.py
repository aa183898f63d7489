import pytest

from tests import backends
from tests.e2e.server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("autorelay")).start()
    yield srv
    srv.stop()


@pytest.fixture
def live(server):
    with server.client(server.keys["live"]) as client:
        yield client


@pytest.fixture(scope="session", autouse=True)
def drop_postgres_schemas():
    """The postgres profile gives each deployment a schema; drop them when this worker is done."""
    yield
    backends.drop_server_schemas()
