"""Fixtures: the server under test (one per session) and channels to it.

FRAUD_TEST_TARGET=host:port  use a running server (none is started; tests that need their own
                             process start one from FRAUD_SERVER_BIN if it exists, else skip)
FRAUD_SERVER_BIN=path        binary to start (default .build/debug/fraud-server)
FRAUD_SERVER_ARGS='...'      extra arguments for every server the suite starts
"""
import os

import grpc
import pytest

import support


def pytest_report_header(config):
    target = os.environ.get("FRAUD_TEST_TARGET")
    return f"fraud server: {target or support.server_binary()} (run id {support.RUN})"


@pytest.fixture(scope="session")
def target(tmp_path_factory):
    """host:port of the session's server. A server started here must exit 0 on SIGTERM at the end."""
    external = os.environ.get("FRAUD_TEST_TARGET")
    if external:
        support.wait_serving(external, deadline_s=15)
        yield external
        return
    log = tmp_path_factory.mktemp("server") / "fraud-server.log"
    server = support.ServerProcess(str(log))
    try:
        server.start()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield server.target
    code = server.stop()
    assert code == 0, f"fraud-server exited with {code} after SIGTERM\n{support.tail(str(log))}"


@pytest.fixture(scope="session")
def channel(target):
    with grpc.insecure_channel(target) as ch:
        yield ch


@pytest.fixture(scope="session")
def scoring(channel):
    return support.stub(channel)


@pytest.fixture(scope="session")
def health(channel):
    return support.health_pb2_grpc.HealthStub(channel)


@pytest.fixture
def own_server(tmp_path):
    """A fresh server process for tests that stop it; killed at the end if the test did not stop it."""
    binary = support.server_binary()
    if os.environ.get("FRAUD_TEST_TARGET") and not os.access(binary, os.X_OK):
        pytest.skip(f"needs its own server process: {binary} not found (FRAUD_SERVER_BIN)")
    server = support.ServerProcess(str(tmp_path / "fraud-server.log"), binary)
    try:
        server.start()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield server
    server.kill()
