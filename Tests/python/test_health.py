"""grpc.health.v1.Health: Check and Watch."""
import grpc
import pytest

from support import SERVICE, expect_error, health_pb2

SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("service", ["", SERVICE])
def test_check_serving(health, service):
    resp = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    assert resp.status == SERVING


def test_check_unknown_service_is_not_found(health):
    expect_error(lambda: health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5),
                 grpc.StatusCode.NOT_FOUND)


@pytest.mark.parametrize("service", ["", SERVICE])
def test_watch_yields_serving_first(health, service):
    call = health.Watch(health_pb2.HealthCheckRequest(service=service), timeout=10)
    try:
        first = next(call)
        assert first.status == SERVING
    finally:
        call.cancel()
