import pytest

from tests.support import FakeClock, ManualQueue, RecordingMailer, make_deps


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def manual_queue() -> ManualQueue:
    return ManualQueue()


@pytest.fixture
def deps(clock, mailer):
    return make_deps(clock=clock, mailer=mailer)
