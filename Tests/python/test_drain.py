"""SIGTERM: open streams are drained, then the process exits 0; no new connections meanwhile."""
import queue
import socket
import time

import grpc

from support import parse_target, small_payment, stub, txid


def refuses_connections(target, limit_s=10.0):
    """True once a new TCP connection to target is refused (polls up to limit_s)."""
    host, port = parse_target(target)
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, port), timeout=1):
                pass
        except ConnectionRefusedError:
            return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def test_sigterm_drains_open_stream_then_exits_0(own_server):
    requests = queue.Queue()
    sent = []

    def send(tag):
        tid = txid(f"drain-{tag}")
        sent.append(tid)
        requests.put(small_payment(tid))

    with grpc.insecure_channel(own_server.target) as ch:
        call = stub(ch).ScoreStream(iter(requests.get, None), timeout=60)
        answers = []
        for i in range(3):
            send(f"before-{i}")
            answers.append(next(call).transaction_id)  # the stream is up and scoring
        own_server.terminate()
        assert refuses_connections(own_server.target), "still accepting new connections after SIGTERM"
        for i in range(2):
            send(f"after-{i}")
        requests.put(None)  # half-close: the server may now finish the stream
        answers += [resp.transaction_id for resp in call]
        assert call.code() == grpc.StatusCode.OK, call.details()
    assert answers == sent
    assert own_server.wait(30) == 0
    assert refuses_connections(own_server.target, 1.0)
