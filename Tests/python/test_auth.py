"""Authentication and roles end to end: JWT (ES256) on the RPC (`authorization` metadata) and the admin port
(401/403), the negative token corpus, the role matrix, login with throttling, key rotation on SIGHUP without a
restart, and the audit trail.

Keys, users and tokens come from `fraud-ctl auth` (FRAUD_CTL_BIN, default .build/debug/fraud-ctl); bad tokens
from its hidden `auth forge --kind K`.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import time

import grpc
import pytest

import support
from support import small_payment, txid

PASSWORDS = {"alice": ("admin", "alice-s3cret-pw"), "ana": ("analyst", "ana-s3cret-pw"), "sam": ("scorer", "sam-s3cret-pw")}
FORGED = ["none", "hs256-pubkey", "expired", "nbf-future", "wrong-aud", "wrong-iss", "unknown-kid", "bad-signature",
          "truncated", "garbage"]


def ctl_binary():
    path = os.environ.get("FRAUD_CTL_BIN", ".build/debug/fraud-ctl")
    path = path if os.path.isabs(path) else os.path.join(support.ROOT, path)
    assert os.access(path, os.X_OK), f"{path} not built (swift build)"
    return path


def ctl(*args, env=None):
    out = subprocess.run([ctl_binary(), "auth", *args], capture_output=True, text=True, timeout=120,
                         env={**os.environ, **(env or {})})
    assert out.returncode == 0, f"fraud-ctl auth {' '.join(args)}: {out.stderr}"
    return out.stdout.strip()


def make_auth_dir(d):
    keys = d / "keys"
    ctl("gen-key", "--dir", str(keys), "--kid", "k1")
    users = d / "users.jsonl"
    for name, (role, password) in PASSWORDS.items():
        ctl("add-user", "--users", str(users), "--name", name, "--role", role, "--password-env", "PW",
            env={"PW": password})
    return keys, users


def token(keys, role, sub=None):
    return ctl("token", "--jwt-keys", str(keys), "--sub", sub or f"test-{role}", "--role", role, "--ttl", "600")


class AuthServer:
    def __init__(self, tmp, keys, users, extra=()):
        self.admin_port = support.free_port()
        self.audit = tmp / "audit.jsonl"
        args = ["--jwt-keys", str(keys), "--users", str(users), "--audit-log", str(self.audit),
                "--admin-port", str(self.admin_port), *extra]
        self.proc = support.ServerProcess(str(tmp / "fraud-server.log"), args=args)
        try:
            self.proc.start()
        except RuntimeError as e:
            pytest.fail(str(e), pytrace=False)
        self.target = self.proc.target

    def http(self, method, path, token=None, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=30)
        h = dict(headers or {})
        if token is not None:
            h["authorization"] = f"Bearer {token}"
        if body is not None:
            h["content-type"] = "application/json"
            body = json.dumps(body)
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, data, resp

    def audit_records(self):
        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text().splitlines() if line.strip()]

    def wait_audit(self, predicate, what):
        """The audit lines once one matches (the log is flushed every second or so)."""
        deadline = time.monotonic() + 15
        lines = []
        while time.monotonic() < deadline:
            lines = self.audit_records()
            if any(predicate(line) for line in lines):
                return lines
            time.sleep(0.2)
        raise AssertionError(f"no audit line for {what}; got {lines[-10:]}")

    def stop(self):
        assert self.proc.stop() == 0, support.tail(self.proc.log_path)


@pytest.fixture(scope="module")
def auth(tmp_path_factory):
    d = tmp_path_factory.mktemp("auth")
    keys, users = make_auth_dir(d)
    server = AuthServer(d, keys, users)
    server.keys = keys
    server.tokens = {role: token(keys, role) for role in ("admin", "analyst", "scorer")}
    yield server
    server.stop()


def score(target, request, token=None):
    metadata = [("authorization", f"Bearer {token}")] if token is not None else None
    with grpc.insecure_channel(target) as ch:
        return support.stub(ch).Score(request, timeout=10, metadata=metadata)


# ---------------------------------------------------------------- RPC
def test_scorer_and_admin_tokens_may_score(auth):
    for role in ("scorer", "admin"):
        reply = score(auth.target, small_payment(txid(f"auth-ok-{role}")), auth.tokens[role])
        assert reply.transaction_id == txid(f"auth-ok-{role}")


def test_health_stays_open(auth):
    with grpc.insecure_channel(auth.target) as ch:
        resp = support.health_pb2_grpc.HealthStub(ch).Check(support.health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert resp.status == support.health_pb2.HealthCheckResponse.SERVING
    status, _, _ = auth.http("GET", "/health")
    assert status == 200


def test_missing_token_is_unauthenticated(auth):
    with pytest.raises(grpc.RpcError) as info:
        score(auth.target, small_payment(txid("auth-none")))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "token" in info.value.details().lower()


def test_analyst_may_not_score(auth):
    with pytest.raises(grpc.RpcError) as info:
        score(auth.target, small_payment(txid("auth-analyst")), auth.tokens["analyst"])
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "analyst" in info.value.details()


@pytest.mark.parametrize("kind", FORGED)
def test_forged_token_is_unauthenticated_and_scores_nothing(auth, kind):
    bad = ctl("forge", "--jwt-keys", str(auth.keys), "--kind", kind)
    request = small_payment(txid(f"auth-forged-{kind}"))
    with pytest.raises(grpc.RpcError) as info:
        score(auth.target, request, bad)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED, kind
    if len(bad) > 8:
        assert bad not in info.value.details()
    # No scoring work was done: the same id scored now with a good token is a first decision, not a replay.
    reply = score(auth.target, request, auth.tokens["scorer"])
    assert not reply.replayed, f"{kind}: the refused call was scored"
    # The HTTP side refuses the same token with 401.
    status, body, resp = auth.http("GET", "/api/v1/analytics/summary", bad)
    assert status == 401, (kind, body)
    assert resp.getheader("www-authenticate", "").startswith("Bearer")


def test_one_channel_many_calls_then_a_bad_token(auth):
    """The connection's grant cache (and the HPACK pre-pass that removes a repeated token) must not outlive a
    change of token: on one channel, many calls with the same token, then a bad one, then the good one again."""
    good = [("authorization", f"Bearer {auth.tokens['scorer']}")]
    with grpc.insecure_channel(auth.target) as ch:
        stub = support.stub(ch)
        for i in range(50):
            assert stub.Score(small_payment(txid(f"chan-{i}")), timeout=10, metadata=good).transaction_id
        # Concurrent calls, so that several HEADERS frames arrive in one read.
        futures = [stub.Score.future(small_payment(txid(f"chan-f{i}")), timeout=10, metadata=good) for i in range(64)]
        assert all(f.result().transaction_id for f in futures)
        for kind in ("bad-signature", "expired", "garbage"):
            bad = ctl("forge", "--jwt-keys", str(auth.keys), "--kind", kind)
            request = small_payment(txid(f"chan-bad-{kind}"))
            with pytest.raises(grpc.RpcError) as info:
                stub.Score(request, timeout=10, metadata=[("authorization", f"Bearer {bad}")])
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED, kind
            with pytest.raises(grpc.RpcError) as info:
                stub.Score(request, timeout=10)  # no token at all
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED, kind
            assert not stub.Score(request, timeout=10, metadata=good).replayed, f"{kind}: the refused call was scored"
        analyst = [("authorization", f"Bearer {auth.tokens['analyst']}")]
        with pytest.raises(grpc.RpcError) as info:
            stub.Score(small_payment(txid("chan-analyst")), timeout=10, metadata=analyst)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert stub.Score(small_payment(txid("chan-last")), timeout=10, metadata=good).transaction_id


class RawConnection:
    """One HTTP/2 connection through the `h2` package, which, like nghttp2, sends `authorization` as a
    never-indexed HPACK literal: the server cuts a repeated granted token out before decoding (its
    AuthorizationElider). `calls` sends Score calls in one write and returns their grpc-status values."""

    def __init__(self, target):
        import h2.config
        import h2.connection
        self.target = target
        self.sock = socket.create_connection(support.parse_target(target), timeout=10)
        self.conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def calls(self, tokens, tag):
        import h2.events
        ids = []
        for index, tok in enumerate(tokens):
            sid = self.conn.get_next_available_stream_id()
            extra = [("authorization", f"Bearer {tok}")] if tok else []
            self.conn.send_headers(sid, support.grpc_headers(self.target, "/fraud.v1.FraudScoring/Score", extra))
            self.conn.send_data(sid, support.frame(small_payment(txid(f"{tag}-{index}"))), end_stream=True)
            ids.append(sid)
        out = self.conn.data_to_send()
        if any(tokens):
            assert b"\x1f\x08" in out, "h2 no longer sends authorization never-indexed (static name 23)"
        self.sock.sendall(out)
        status = {}
        while len(status) < len(ids):
            chunk = self.sock.recv(65536)
            assert chunk, f"connection closed; statuses so far {status}"
            for ev in self.conn.receive_data(chunk):
                if isinstance(ev, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    headers = dict(ev.headers)
                    if "grpc-status" in headers:
                        status[ev.stream_id] = headers["grpc-status"]
                elif isinstance(ev, h2.events.DataReceived):
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamReset):
                    status[ev.stream_id] = f"reset {ev.error_code}"
            out = self.conn.data_to_send()
            if out:
                self.sock.sendall(out)
        return [status[sid] for sid in ids]


def test_never_indexed_token_repeated_on_one_connection(auth):
    good = auth.tokens["scorer"]
    bad = ctl("forge", "--jwt-keys", str(auth.keys), "--kind", "bad-signature")
    with RawConnection(auth.target) as conn:
        assert conn.calls([good], "raw-first") == ["0"]
        assert conn.calls([good] * 40, "raw-batch") == ["0"] * 40
        assert conn.calls([bad, good, None, good, auth.tokens["analyst"], good], "raw-mixed") == \
            ["16", "0", "16", "0", "7", "0"]
        assert conn.calls([good] * 10, "raw-again") == ["0"] * 10
        assert conn.calls([bad] * 3, "raw-bad") == ["16"] * 3


def test_stream_needs_a_token_too(auth):
    with grpc.insecure_channel(auth.target) as ch:
        call = ch.stream_stream("/fraud.v1.FraudScoring/ScoreStream",
                                request_serializer=support.pb.ScoreRequest.SerializeToString,
                                response_deserializer=support.pb.ScoreResponse.FromString)
        with pytest.raises(grpc.RpcError) as info:
            list(call(iter([small_payment(txid("auth-stream"))]), timeout=10))
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        answers = list(call(iter([small_payment(txid("auth-stream"))]), timeout=10,
                            metadata=[("authorization", f"Bearer {auth.tokens['scorer']}")]))
        assert [a.transaction_id for a in answers] == [txid("auth-stream")]
        assert not answers[0].replayed


# ---------------------------------------------------------------- HTTP role matrix
ENDPOINTS = {
    # path: the lowest role that may read it (None = open)
    "/health": None,
    "/openapi.json": None,
    "/docs": None,
    "/dashboard": None,
    "/metrics": "admin",
    "/api/v1/live": "analyst",
    "/api/v1/analytics/transactions?limit=1": "analyst",
    "/api/v1/analytics/fraud-alerts?limit=1": "analyst",
    "/api/v1/analytics/summary": "analyst",
    "/api/v1/analytics/accounts/C1305486145": "analyst",
}
RANK = {None: 0, "scorer": 1, "analyst": 2, "admin": 3}


@pytest.mark.parametrize("path", list(ENDPOINTS))
@pytest.mark.parametrize("role", [None, "scorer", "analyst", "admin"])
def test_role_matrix(auth, path, role):
    need = ENDPOINTS[path]
    status, body, _ = auth.http("GET", path, auth.tokens[role] if role else None)
    if need is None:
        assert status == 200, (path, role, body)
    elif role is None:
        assert status == 401, (path, role, body)
    elif role == "admin" or (need == "analyst" and role == "analyst"):
        assert status not in (401, 403), (path, role, status, body)
    else:
        assert status == 403, (path, role, status, body)


# ---------------------------------------------------------------- login, throttling, audit
def test_login_issues_a_working_token(auth):
    status, body, resp = auth.http("POST", "/api/v1/auth/login", body={"username": "ana", "password": PASSWORDS["ana"][1]})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["token_type"] == "Bearer" and answer["role"] == "analyst" and answer["expires_in"] > 0
    assert "HttpOnly" in resp.getheader("set-cookie", "")
    status, _, _ = auth.http("GET", "/api/v1/live", answer["access_token"])
    assert status == 200
    # ... and the cookie works like the header (the dashboard relies on it).
    status, _, _ = auth.http("GET", "/api/v1/live", headers={"cookie": f"fraud_token={answer['access_token']}"})
    assert status == 200


def test_login_rejects_bad_credentials_alike(auth):
    wrong = auth.http("POST", "/api/v1/auth/login", body={"username": "ana", "password": "nope"})
    unknown = auth.http("POST", "/api/v1/auth/login", body={"username": "nobody-here", "password": "nope"})
    assert wrong[0] == unknown[0] == 401
    assert json.loads(wrong[1]) == json.loads(unknown[1])  # no user enumeration
    bad = auth.http("POST", "/api/v1/auth/login", body={"username": "ana"})
    assert bad[0] == 400 and b"password" in bad[1]


def test_repeated_failures_are_throttled_and_logged(auth):
    statuses = [auth.http("POST", "/api/v1/auth/login", body={"username": "sam", "password": f"guess-{i}"})[0]
                for i in range(12)]
    assert statuses[0] == 401
    assert 429 in statuses, statuses
    lines = auth.wait_audit(lambda l: l["event"] == "login_throttled", "throttled login")
    assert any(l["event"] == "login_failed" and l.get("subject") == "sam" for l in lines)


def test_audit_trail_records_denials_without_secrets(auth):
    auth.http("GET", "/metrics", auth.tokens["analyst"])
    with pytest.raises(grpc.RpcError):
        score(auth.target, small_payment(txid("auth-audit")), auth.tokens["analyst"])
    lines = auth.wait_audit(lambda l: l["event"] == "access_denied" and "Score" in (l.get("resource") or ""),
                            "RPC access_denied")
    assert any(l["event"] == "access_denied" and l.get("resource", "").endswith("/metrics") for l in lines)
    assert all({"time", "event", "outcome"} <= set(l) for l in lines)
    text = auth.audit.read_text()
    for secret in list(auth.tokens.values()) + [pw for _, pw in PASSWORDS.values()]:
        assert secret not in text


# ---------------------------------------------------------------- key rotation
def test_key_rotation_on_sighup_without_restart(tmp_path):
    keys, users = make_auth_dir(tmp_path)
    old = token(keys, "scorer", "rot-old")
    server = AuthServer(tmp_path, keys, users)
    try:
        pid = server.proc.proc.pid
        assert score(server.target, small_payment(txid("rot-1")), old).transaction_id
        ctl("gen-key", "--dir", str(keys), "--kid", "k2")  # sorts last: signs new tokens
        new = token(keys, "scorer", "rot-new")
        os.kill(pid, signal.SIGHUP)
        server.wait_audit(lambda l: l["event"] == "keys_reloaded", "first reload")
        # Overlap: both keys verify.
        assert score(server.target, small_payment(txid("rot-2")), old).transaction_id
        assert score(server.target, small_payment(txid("rot-3")), new).transaction_id
        for path in keys.glob("k1*"):
            path.unlink()
        reloads = sum(1 for l in server.audit_records() if l["event"] == "keys_reloaded")
        os.kill(pid, signal.SIGHUP)
        server.wait_audit(lambda _: sum(1 for l in server.audit_records() if l["event"] == "keys_reloaded") > reloads,
                          "second reload")
        with pytest.raises(grpc.RpcError) as info:
            score(server.target, small_payment(txid("rot-4")), old)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert score(server.target, small_payment(txid("rot-5")), new).transaction_id
        assert server.proc.proc.pid == pid and server.proc.proc.poll() is None  # same process throughout
    finally:
        server.stop()


def test_removed_key_fails_on_an_open_channel(tmp_path):
    """A channel that kept calling with a token (grant cached on its connection) is refused once the token's
    key is removed and the server reloaded, without reconnecting; a token from the new key works on it."""
    keys, users = make_auth_dir(tmp_path)
    old = token(keys, "scorer", "open-old")
    server = AuthServer(tmp_path, keys, users)
    try:
        pid = server.proc.proc.pid
        old_md = [("authorization", f"Bearer {old}")]
        with grpc.insecure_channel(server.target) as ch:
            stub = support.stub(ch)
            for i in range(20):
                assert stub.Score(small_payment(txid(f"open-{i}")), timeout=10, metadata=old_md).transaction_id
            ctl("gen-key", "--dir", str(keys), "--kid", "k2")
            new = token(keys, "scorer", "open-new")
            for path in keys.glob("k1*"):
                path.unlink()
            os.kill(pid, signal.SIGHUP)
            server.wait_audit(lambda l: l["event"] == "keys_reloaded", "reload")
            for attempt in range(3):  # every later call on the same connection, not just the first
                with pytest.raises(grpc.RpcError) as info:
                    stub.Score(small_payment(txid(f"open-after-{attempt}")), timeout=10, metadata=old_md)
                assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
            new_md = [("authorization", f"Bearer {new}")]
            assert stub.Score(small_payment(txid("open-new")), timeout=10, metadata=new_md).transaction_id
            with pytest.raises(grpc.RpcError) as info:
                stub.Score(small_payment(txid("open-old-again")), timeout=10, metadata=old_md)
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        server.stop()


def test_removed_key_fails_on_an_open_never_indexing_connection(tmp_path):
    """The same on one raw HTTP/2 connection whose repeated token the server was cutting out before decoding."""
    keys, users = make_auth_dir(tmp_path)
    old = token(keys, "scorer", "raw-old")
    server = AuthServer(tmp_path, keys, users)
    try:
        with RawConnection(server.target) as conn:
            assert conn.calls([old], "rawrot-first") == ["0"]
            assert conn.calls([old] * 20, "rawrot-batch") == ["0"] * 20
            ctl("gen-key", "--dir", str(keys), "--kid", "k2")
            new = token(keys, "scorer", "raw-new")
            for path in keys.glob("k1*"):
                path.unlink()
            os.kill(server.proc.proc.pid, signal.SIGHUP)
            server.wait_audit(lambda l: l["event"] == "keys_reloaded", "reload")
            assert conn.calls([old] * 5, "rawrot-after") == ["16"] * 5
            assert conn.calls([new, old, new], "rawrot-new") == ["0", "16", "0"]
    finally:
        server.stop()
