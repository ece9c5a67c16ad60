"""HTTP/2 level: broken connections, h2load, nghttp."""
import re
import shutil
import socket
import subprocess

import pytest

from support import (SCORE, fraud_row, frame, grpc_headers, h2_request, parse_target, pb, small_payment, txid,
                     unframe_all)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def read_until_closed(sock, limit_s=10.0):
    """Reads until the peer closes (EOF or reset); False if it is still open after limit_s."""
    sock.settimeout(limit_s)
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return True


@pytest.mark.parametrize("garbage", [
    PREFACE + b"\xff" * 64,                                  # frame header with a 16 MiB length
    PREFACE + b"this is not an HTTP/2 frame at all\r\n" * 4,
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",                    # no preface at all
], ids=["preface+0xff", "preface+text", "http1"])
def test_broken_http2_closes_only_that_connection(target, scoring, garbage):
    host, port = parse_target(target)
    with socket.create_connection((host, port), timeout=10) as bad:
        # Another client's connection, opened before the bad bytes arrive, must not be affected.
        tid = txid(f"bystander-{len(garbage)}")
        assert scoring.Score(small_payment(tid), timeout=10).transaction_id == tid
        try:
            bad.sendall(garbage)
        except (ConnectionResetError, BrokenPipeError):
            pass  # closed already
        assert read_until_closed(bad), "server kept the broken connection open"
    tid2 = txid(f"after-broken-{len(garbage)}")
    assert scoring.Score(small_payment(tid2), timeout=10).transaction_id == tid2


def test_raw_http2_score_gets_one_frame_and_status_0(target):
    tid = txid("raw-h2")
    headers, body, trailers = h2_request(target, grpc_headers(target, SCORE), frame(fraud_row(tid)))
    assert headers.get(":status") == "200", headers
    assert headers.get("content-type", "").startswith("application/grpc"), headers
    assert trailers.get("grpc-status") == "0", (headers, trailers)
    (payload,) = unframe_all(body)
    assert pb.ScoreResponse.FromString(payload).transaction_id == tid


def response_floor(scoring, request):
    """Smallest plausible frame of a good answer to `request` (server_time_us and replayed vary)."""
    resp = scoring.Score(request, timeout=10)
    resp.ClearField("server_time_us")
    resp.ClearField("replayed")
    return 5 + resp.ByteSize()


@pytest.mark.slow
def test_h2load_2000_requests(target, scoring, tmp_path):
    h2load, nghttp = shutil.which("h2load"), shutil.which("nghttp")
    assert h2load and nghttp, "h2load/nghttp not found (apt package nghttp2-client; scripts/setup.sh)"
    host, port = parse_target(target)
    request = fraud_row(txid("h2load"))
    req_file = tmp_path / "req.grpc"
    req_file.write_bytes(frame(request))
    floor = response_floor(scoring, request)  # first call; the 2000 below are replays of it
    url = f"http://{host}:{port}{SCORE}"
    hdrs = ["-H", "content-type: application/grpc", "-H", "te: trailers", "-d", str(req_file)]

    out = subprocess.run([h2load, "-n", "2000", "-c", "4", "-m", "10", *hdrs, url],
                         capture_output=True, text=True, errors="replace", timeout=300).stdout
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", out)
    assert m, out
    total, _, done, succeeded, failed, errored, timeouts = map(int, m.groups())
    assert (total, done, succeeded, failed, errored, timeouts) == (2000, 2000, 2000, 0, 0, 0), out
    assert re.search(r"status codes: 2000 2xx", out), out
    # h2load cannot see gRPC statuses; an error answer carries no message, so count DATA bytes.
    data = int(re.search(r"\((\d+)\) data", out).group(1))
    assert data >= 2000 * floor, f"{data} DATA bytes < 2000 x {floor}: some answers were gRPC errors\n{out}"

    # -v prints frames and the (binary) answer body: decode bytes as latin-1.
    verbose = subprocess.run([nghttp, "-v", "-t", "10", *hdrs, url], capture_output=True,
                             timeout=30).stdout.decode("latin-1")
    assert re.search(r":status: 200\b", verbose), verbose
    assert re.search(r"^\s*\[[ 0-9.]+\] recv \(stream_id=\d+\) grpc-status: 0$", verbose, re.M), verbose
