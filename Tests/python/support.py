"""Shared helpers for the black-box suite: generated stubs, request builders, raw framing, the server
process, free ports, raw HTTP/2.

The fraud.v1 modules are generated from proto/ into Tests/python/gen/ (gitignored) when this module is
imported; the health messages come from grpcio-health-checking (`grpc_health.v1`), which is the
standard grpc.health.v1 contract of proto/grpc/health/v1/health.proto (a generated `grpc/` package
would collide with grpcio's own `grpc`).
"""
import hashlib
import os
import shlex
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROTO = os.path.join(ROOT, "proto")
GEN = os.path.join(HERE, "gen")

SCORE = "/fraud.v1.FraudScoring/Score"
SCORE_STREAM = "/fraud.v1.FraudScoring/ScoreStream"
SERVICE = "fraud.v1.FraudScoring"
MAX_MESSAGE = 64 * 1024

# Unique per test run: ids stay unique even against a long-running server that keeps its
# idempotency records (FRAUD_TEST_TARGET, or one backed by PostgreSQL).
RUN = uuid.uuid4().hex[:10]


def generate_stubs():
    """Runs grpc_tools.protoc for fraud/v1/fraud.proto into GEN and puts GEN on sys.path."""
    os.makedirs(GEN, exist_ok=True)
    cmd = [sys.executable, "-m", "grpc_tools.protoc", "-I", PROTO, f"--python_out={GEN}",
           f"--grpc_python_out={GEN}", "fraud/v1/fraud.proto"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    if GEN not in sys.path:
        sys.path.insert(0, GEN)


generate_stubs()
import grpc  # noqa: E402
from fraud.v1 import fraud_pb2 as pb  # noqa: E402
from fraud.v1 import fraud_pb2_grpc as pb_grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402


# ---------------------------------------------------------------- requests
def txid(tag):
    """A transaction id unique to this run: `t-<run>-<tag>`."""
    return f"t-{RUN}-{tag}"


def fraud_row(transaction_id):
    """Real PaySim fraud row (step 1): TRANSFER 181.00 draining C1305486145 (181.00 -> 0.00) to
    C553264065 (0.00 -> 0.00)."""
    return pb.ScoreRequest(transaction=pb.Transaction(
        transaction_id=transaction_id, step=1, type=pb.TRANSACTION_TYPE_TRANSFER, amount_cents=18100,
        origin_account="C1305486145", origin_balance_before_cents=18100, origin_balance_after_cents=0,
        destination_account="C553264065", destination_balance_before_cents=0,
        destination_balance_after_cents=0))


def account_for(transaction_id):
    """A PaySim-style customer account name ("C" + digits) derived from the id: fresh for every call."""
    return "C" + str(int(hashlib.sha256(transaction_id.encode()).hexdigest()[:13], 16))


def small_payment(transaction_id, origin=None):
    """Legit-looking PaySim PAYMENT (first row of the data set: 9,839.64 to a merchant, balances add up),
    from an origin account of its own unless given (no velocity history to trip over)."""
    return pb.ScoreRequest(transaction=pb.Transaction(
        transaction_id=transaction_id, step=1, type=pb.TRANSACTION_TYPE_PAYMENT, amount_cents=983964,
        origin_account=origin or account_for(transaction_id), origin_balance_before_cents=17013600,
        origin_balance_after_cents=16029636, destination_account="M1979787155",
        destination_balance_before_cents=0, destination_balance_after_cents=0))


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def with_raw_type(request, type_value):
    """ScoreRequest bytes whose transaction.type is `type_value` on the wire (any int, also unknown)."""
    txn = pb.Transaction()
    txn.CopyFrom(request.transaction)
    txn.ClearField("type")
    txn_bytes = txn.SerializeToString() + b"\x18" + varint(type_value)  # field 3, varint
    return b"\x0a" + varint(len(txn_bytes)) + txn_bytes  # ScoreRequest field 1, length-delimited


def frame(message):
    """gRPC length-prefixed message: flag 0 + big-endian UInt32 length + payload."""
    payload = message if isinstance(message, (bytes, bytearray)) else message.SerializeToString()
    return b"\x00" + struct.pack(">I", len(payload)) + payload


def unframe_all(data):
    """Concatenated gRPC frames -> list of payloads; ValueError on a partial frame."""
    out, i = [], 0
    while i < len(data):
        if len(data) - i < 5:
            raise ValueError(f"{len(data) - i} trailing bytes are not a gRPC frame")
        n = struct.unpack(">I", data[i + 1:i + 5])[0]
        if len(data) - i - 5 < n:
            raise ValueError(f"frame of {n} B is cut off")
        out.append(bytes(data[i + 5:i + 5 + n]))
        i += 5 + n
    return out


# ---------------------------------------------------------------- calls
def stub(channel):
    return pb_grpc.FraudScoringStub(channel)


def raw_unary(channel, path, payload, timeout=10, **kwargs):
    """Unary call with bytes in and out (no (de)serializers)."""
    return channel.unary_unary(path)(payload, timeout=timeout, **kwargs)


def expect_error(call, code):
    """Runs call() and returns the grpc.RpcError, which must carry `code`."""
    try:
        result = call()
    except grpc.RpcError as e:
        assert e.code() == code, f"expected {code.name}, got {e.code().name}: {e.details()!r}"
        return e
    raise AssertionError(f"expected {code.name}, got a successful answer: {result!r}")


# ---------------------------------------------------------------- ports, server process
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_target(target):
    host, _, port = target.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def server_binary():
    path = os.environ.get("FRAUD_SERVER_BIN", os.path.join(ROOT, ".build", "debug", "fraud-server"))
    return path if os.path.isabs(path) else os.path.join(ROOT, path)


def open_channel(target, credentials=None):
    """A grpcio channel: TLS when credentials (grpc.ssl_channel_credentials) are given, else h2c."""
    if credentials is None:
        return grpc.insecure_channel(target)
    return grpc.secure_channel(target, credentials)


def wait_serving(target, deadline_s=60.0, proc=None, log_path=None, credentials=None):
    """Waits until target accepts TCP and health Check("") answers SERVING."""
    host, port = parse_target(target)
    end = time.monotonic() + deadline_s
    last = "no attempt"
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before serving\n{tail(log_path)}")
        try:
            with socket.create_connection((host, port), timeout=1):
                pass
        except OSError as e:
            last = f"connect: {e}"
            time.sleep(0.1)
            continue
        with open_channel(target, credentials) as ch:
            try:
                resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
                if resp.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = f"health status {resp.status}"
            except grpc.RpcError as e:
                last = f"health Check: {e.code().name} {e.details()}"
        time.sleep(0.2)
    raise RuntimeError(f"{target} not SERVING within {deadline_s:.0f} s ({last})\n{tail(log_path)}")


def tail(path, lines=30):
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        text = f.read().splitlines()[-lines:]
    return f"--- last lines of {path}:\n" + "\n".join(text)


class ServerProcess:
    """fraud-server on a free loopback port, output to log_path. Extra arguments from
    $FRAUD_SERVER_ARGS (shell words)."""

    def __init__(self, log_path, binary=None, args=(), credentials=None):
        self.binary = binary or server_binary()
        self.args = list(args)
        self.credentials = credentials
        self.log_path = log_path
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        self.proc = None
        self._log = None

    def start(self, ready_timeout=60.0):
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError(f"server binary {self.binary} not found or not executable "
                               "(build it, or set FRAUD_SERVER_BIN / FRAUD_TEST_TARGET)")
        cmd = [self.binary, "--host", "127.0.0.1", "--port", str(self.port)]
        extra = shlex.split(os.environ.get("FRAUD_SERVER_ARGS", "")) + self.args
        cmd += extra
        # Each server gets its own journal (a journal directory is locked by one process); with
        # FRAUD_PG_URL set (make test does) decisions also go to the real PostgreSQL.
        if "--journal-dir" not in extra:
            cmd += ["--journal-dir", f"{self.log_path}.journal"]
        # Authentication is on by default in fraud-server; suites that do not test it run with it off.
        if "--auth" not in extra and "--jwt-keys" not in extra:
            cmd += ["--auth", "off"]
        if "--postgres-url" not in extra and os.environ.get("FRAUD_PG_URL"):
            cmd += ["--postgres-url", os.environ["FRAUD_PG_URL"]]
        self._log = open(self.log_path, "ab")
        self._log.write(f"$ {shlex.join(cmd)}\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=ROOT)
        try:
            wait_serving(self.target, ready_timeout, self.proc, self.log_path, self.credentials)
        except Exception:
            self.kill()
            raise
        return self

    def terminate(self):
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout=30.0):
        """Exit code after SIGTERM (kills and raises if it does not exit within timeout)."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"server did not exit within {timeout:.0f} s of SIGTERM\n{tail(self.log_path)}") from None

    def stop(self, timeout=30.0):
        """SIGTERM and wait: the exit code."""
        if self.proc.poll() is None:
            self.terminate()
        return self.wait(timeout)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._log:
            self._log.close()


# ---------------------------------------------------------------- raw HTTP/2 (h2 package)
def h2_request(target, headers, body=b"", end_stream=True, timeout=10.0):
    """One HTTP/2 request on a fresh connection; returns (response headers dict, body bytes,
    trailers dict). Headers are (name, value) pairs in order (pseudo-headers first)."""
    import h2.config
    import h2.connection
    import h2.events

    host, port = parse_target(target)
    sock = socket.create_connection((host, port), timeout=timeout)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, headers, end_stream=end_stream and not body)
    if body:
        conn.send_data(sid, body, end_stream=end_stream)
    sock.sendall(conn.data_to_send())
    resp_headers, trailers, data = {}, {}, bytearray()
    try:
        done = False
        while not done:
            chunk = sock.recv(65536)
            if not chunk:
                break
            for ev in conn.receive_data(chunk):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    resp_headers = dict(ev.headers)
                elif isinstance(ev, h2.events.TrailersReceived) and ev.stream_id == sid:
                    trailers = dict(ev.headers)
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                    data += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)) and ev.stream_id == sid:
                    done = True
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    done = True
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
    finally:
        sock.close()
    return resp_headers, bytes(data), trailers


def grpc_headers(target, path, extra=()):
    host, port = parse_target(target)
    return [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", f"{host}:{port}"),
            ("content-type", "application/grpc"), ("te", "trailers"), *extra]
