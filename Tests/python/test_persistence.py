"""Decisions persisted to PostgreSQL through the journal, end to end against fraud-server (issue 4).

Needs a PostgreSQL server and a fraud-server built with the persistence flags:

FRAUD_PG_URL=postgresql://user:pw@host:port/db   (or FRAUD_PG_HOST/PORT/USER/PASSWORD/DB, as printed by
                                                  `scripts/pg.sh env`); unset: every test here is skipped
FRAUD_PG_DATA=dir, FRAUD_PG_BIN=dir               the server's data directory and pg_ctl's directory, for
                                                  the PostgreSQL restart test only (defaults: the directory
                                                  scripts/pg.sh uses, /usr/lib/postgresql/15/bin)

Every test starts its own fraud-server with `--postgres-url <url with search_path=its own schema>`,
`--journal-dir <tmp>` (and `--durability`), so tests never see each other's rows. Rows are read back
with `psql` (no Python driver needed).
"""
import hashlib
import json
import os
import shlex
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

import support
from support import health_pb2, health_pb2_grpc, pb, small_payment, stub, txid

PG_BIN = os.environ.get("FRAUD_PG_BIN", "/usr/lib/postgresql/15/bin")


# ---------------------------------------------------------------- configuration and skips
def pg_url():
    url = os.environ.get("FRAUD_PG_URL")
    if url:
        return url
    host = os.environ.get("FRAUD_PG_HOST")
    if not host:
        return None
    q = urllib.parse.quote
    user = os.environ.get("FRAUD_PG_USER", "postgres")
    password = os.environ.get("FRAUD_PG_PASSWORD")
    auth = q(user, safe="") + (":" + q(password, safe="") if password else "")
    return (f"postgresql://{auth}@{host}:{os.environ.get('FRAUD_PG_PORT', '5432')}/"
            f"{os.environ.get('FRAUD_PG_DB', user)}")


_HELP = None


def server_help():
    global _HELP
    if _HELP is None:
        binary = support.server_binary()
        try:
            done = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
            _HELP = done.stdout + done.stderr
        except OSError as e:
            _HELP = f"(cannot run {binary}: {e})"
    return _HELP


@pytest.fixture
def pg():
    """A schema of this test's own on the test PostgreSQL; yields a Postgres helper, drops it after."""
    url = pg_url()
    if not url:
        pytest.skip("no PostgreSQL: set FRAUD_PG_URL (or FRAUD_PG_HOST/PORT/USER/PASSWORD/DB)")
    if "--postgres-url" not in server_help():
        pytest.skip(f"{support.server_binary()} --help does not list --postgres-url (persistence not wired yet)")
    db = Postgres(url)
    yield db
    db.drop()


class Postgres:
    def __init__(self, url):
        self.base_url = url
        self.schema = "fraud_pytest_" + uuid.uuid4().hex[:12]
        psql(url, f"CREATE SCHEMA {self.schema}")
        sep = "&" if "?" in url else "?"
        self.url = f"{url}{sep}options=-csearch_path%3D{self.schema}"

    def drop(self):
        try:
            psql(self.base_url, f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        except AssertionError:
            pass  # the server may be down after a failed restart test; the schema is harmless

    def rows(self, ids=None):
        """transaction_id -> row dict for the decisions of this schema (all, or those in ids)."""
        where = ""
        if ids is not None:
            quoted = ",".join("'" + i.replace("'", "''") + "'" for i in ids)
            where = f"WHERE transaction_id IN ({quoted})" if ids else "WHERE false"
        out = psql(self.url, "SELECT coalesce(json_agg(d), '[]') FROM (SELECT *, "
                             "(extract(epoch FROM scored_at) * 1000000)::bigint AS scored_at_us "
                             f"FROM decisions {where}) d")
        return {row["transaction_id"]: row for row in json.loads(out)}

    def counts(self):
        out = psql(self.url, "SELECT count(*) || ' ' || count(DISTINCT transaction_id) FROM decisions")
        rows, distinct = out.split()
        return int(rows), int(distinct)

    def wait_for(self, ids, timeout=90.0):
        """Polls until every id is in decisions; returns the rows (or fails with what is missing)."""
        end = time.monotonic() + timeout
        ids = set(ids)
        while True:
            try:
                found = self.rows()
            except AssertionError:
                found = {}  # decisions not created yet, or PostgreSQL restarting
            missing = ids - found.keys()
            if not missing:
                return found
            if time.monotonic() > end:
                raise AssertionError(f"{len(missing)} of {len(ids)} answered decisions not in PostgreSQL after "
                                     f"{timeout:.0f} s, e.g. {sorted(missing)[:5]}")
            time.sleep(0.5)


def psql(url, sql):
    done = subprocess.run(["psql", url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"psql failed ({done.returncode}): {done.stderr.strip()}\n{sql[:300]}"
    return done.stdout.strip()


# ---------------------------------------------------------------- servers
def start_server(tmp_path, name, *, postgres_url, journal, durability="process", extra=(), monkeypatch=None):
    """A fraud-server with persistence flags (on top of $FRAUD_SERVER_ARGS)."""
    args = shlex.split(os.environ.get("FRAUD_SERVER_ARGS", ""))
    if postgres_url is not None:
        args += ["--postgres-url", postgres_url]
    args += ["--journal-dir", str(journal), "--durability", durability, *extra]
    monkeypatch.setenv("FRAUD_SERVER_ARGS", shlex.join(args))
    server = support.ServerProcess(str(tmp_path / f"{name}.log"))
    try:
        server.start(ready_timeout=90)
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    return server


def health_status(target):
    with grpc.insecure_channel(target) as ch:
        return health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status


class Load:
    """Client threads scoring fresh ids until stopped; keeps (request, response) of every answered call."""

    def __init__(self, target, tag, threads=8):
        self.target = target
        self.tag = tag
        self.answered = {}
        self.failures = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def retarget(self, target):
        self.target = target

    def _run(self, worker):
        i = 0
        while not self._stop.is_set():
            target = self.target
            with grpc.insecure_channel(target) as ch:
                s = stub(ch)
                while not self._stop.is_set() and self.target == target:
                    tid = txid(f"{self.tag}-{worker}-{i}")
                    i += 1
                    request = small_payment(tid)
                    try:
                        response = s.Score(request, timeout=5)
                    except grpc.RpcError:
                        with self._lock:
                            self.failures += 1
                        time.sleep(0.05)
                        continue
                    with self._lock:
                        self.answered[tid] = (request, response)

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(30)
        return dict(self.answered)


# ---------------------------------------------------------------- content checks
def f32(x):
    return struct.unpack("<f", struct.pack("<f", float(x)))[0]


def enum_name(enum, value, prefix):
    return enum.Name(value)[len(prefix):]


def assert_row_matches(row, request, response):
    """The row holds exactly what the client sent and received."""
    t = request.transaction
    expected = {
        "transaction_id": t.transaction_id, "step": t.step,
        "type": enum_name(pb.TransactionType, t.type, "TRANSACTION_TYPE_"), "amount_cents": t.amount_cents,
        "origin_account": t.origin_account, "origin_balance_before_cents": t.origin_balance_before_cents,
        "origin_balance_after_cents": t.origin_balance_after_cents, "destination_account": t.destination_account,
        "destination_balance_before_cents": t.destination_balance_before_cents,
        "destination_balance_after_cents": t.destination_balance_after_cents,
        "label": None if request.label == pb.LABEL_UNSPECIFIED else enum_name(pb.Label, request.label, "LABEL_"),
        "decision": enum_name(pb.Decision, response.decision, "DECISION_"),
        "model_version": response.model_version, "server_time_us": response.server_time_us,
    }
    got = {k: row[k] for k in expected}
    assert got == expected, f"{t.transaction_id}: row differs from the answer"
    assert f32(row["risk_score"]) == f32(response.risk_score), t.transaction_id
    assert [(r["code"], r["detail"], f32(r["weight"])) for r in row["reasons"]] == \
        [(r.code, r.detail, f32(r.weight)) for r in response.reasons], f"{t.transaction_id}: reasons differ"


def assert_exactly_once(db, answered):
    rows = db.wait_for(answered.keys())
    count, distinct = db.counts()
    assert count == distinct, f"{count - distinct} duplicate transaction_ids in decisions"
    for tid, (request, response) in answered.items():
        assert_row_matches(rows[tid], request, response)
    return rows


# ---------------------------------------------------------------- tests
def test_without_postgres_the_server_scores_and_says_so(tmp_path, monkeypatch):
    if "--journal-dir" not in server_help():
        pytest.skip(f"{support.server_binary()} --help does not list --journal-dir (persistence not wired yet)")
    # support.ServerProcess adds --postgres-url from FRAUD_PG_URL; the server reads FRAUD_POSTGRES_URL.
    monkeypatch.delenv("FRAUD_PG_URL", raising=False)
    monkeypatch.delenv("FRAUD_POSTGRES_URL", raising=False)
    server = start_server(tmp_path, "nopg", postgres_url=None, journal=tmp_path / "journal",
                          monkeypatch=monkeypatch)
    try:
        with grpc.insecure_channel(server.target) as ch:
            resp = stub(ch).Score(small_payment(txid("nopg")), timeout=10)
        assert resp.decision != pb.DECISION_UNSPECIFIED
    finally:
        server.stop()
    log = open(server.log_path, errors="replace").read()
    assert "journaled only" in log or "no PostgreSQL" in log, "start-up does not say that no database is configured"
    assert any(name.endswith(".seg") for name in os.listdir(tmp_path / "journal")), "nothing journaled"


def test_decisions_reach_postgres_with_identical_content(pg, tmp_path, monkeypatch):
    server = start_server(tmp_path, "basic", postgres_url=pg.url, journal=tmp_path / "journal",
                          monkeypatch=monkeypatch)
    answered = {}
    try:
        with grpc.insecure_channel(server.target) as ch:
            s = stub(ch)
            for i in range(50):
                tid = txid(f"basic-{i}")
                request = small_payment(tid)
                if i % 5 == 0:
                    request = support.fraud_row(tid)
                    request.label = pb.LABEL_FRAUD
                answered[tid] = (request, s.Score(request, timeout=10))
        assert_exactly_once(pg, answered)
    finally:
        server.stop()


@pytest.mark.slow
def test_sigkill_under_load_then_restart_loses_nothing(pg, tmp_path, monkeypatch):
    """Acceptance 2: every decision a client received before kill -9 is in decisions exactly once."""
    journal = tmp_path / "journal"
    server = start_server(tmp_path, "kill-1", postgres_url=pg.url, journal=journal, monkeypatch=monkeypatch)
    load = Load(server.target, "kill").start()
    time.sleep(3)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    answered = load.stop()
    assert len(answered) > 100, f"only {len(answered)} answers before the kill"
    restarted = start_server(tmp_path, "kill-2", postgres_url=pg.url, journal=journal, monkeypatch=monkeypatch)
    try:
        assert_exactly_once(pg, answered)
    finally:
        restarted.stop()
        server.kill()


@pytest.mark.slow
def test_sigkill_while_the_writer_defers_loses_nothing(pg, tmp_path, monkeypatch):
    """--writer-priority defer: a burst killed with kill -9 before PostgreSQL got it is replayed from the journal."""
    journal = tmp_path / "journal"
    server = start_server(tmp_path, "defer-1", postgres_url=pg.url, journal=journal,
                          extra=("--writer-priority", "defer"), monkeypatch=monkeypatch)
    load = Load(server.target, "defer").start()
    time.sleep(3)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    answered = load.stop()
    assert len(answered) > 100, f"only {len(answered)} answers before the kill"
    restarted = start_server(tmp_path, "defer-2", postgres_url=pg.url, journal=journal, monkeypatch=monkeypatch)
    try:
        assert_exactly_once(pg, answered)
    finally:
        restarted.stop()
        server.kill()


@pytest.mark.slow
def test_sigkill_with_fsync_durability_loses_nothing(pg, tmp_path, monkeypatch):
    journal = tmp_path / "journal"
    server = start_server(tmp_path, "fsync-1", postgres_url=pg.url, journal=journal, durability="fsync",
                          monkeypatch=monkeypatch)
    load = Load(server.target, "fsync").start()
    time.sleep(2)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    answered = load.stop()
    assert answered, "no answers before the kill"
    restarted = start_server(tmp_path, "fsync-2", postgres_url=pg.url, journal=journal, durability="fsync",
                             monkeypatch=monkeypatch)
    try:
        assert_exactly_once(pg, answered)
    finally:
        restarted.stop()
        server.kill()


def test_same_id_50_times_concurrently_is_one_row_and_49_replays(pg, tmp_path, monkeypatch):
    """Acceptance 4."""
    server = start_server(tmp_path, "same-id", postgres_url=pg.url, journal=tmp_path / "journal",
                          monkeypatch=monkeypatch)
    tid = txid("same-id-" + uuid.uuid4().hex[:6])
    request = small_payment(tid)
    barrier = threading.Barrier(50)
    channels = [grpc.insecure_channel(server.target) for _ in range(10)]
    try:
        def call(i):
            s = stub(channels[i % len(channels)])
            barrier.wait(30)
            return s.Score(request, timeout=30)

        with ThreadPoolExecutor(max_workers=50) as pool:
            responses = list(pool.map(call, range(50)))
        replayed = sum(1 for r in responses if r.replayed)
        assert replayed == 49, f"{replayed} replayed answers, expected 49"
        first = next(r for r in responses if not r.replayed)
        for r in responses:
            assert (r.decision, f32(r.risk_score), list(r.reasons)) == \
                (first.decision, f32(first.risk_score), list(first.reasons))
        rows = pg.wait_for([tid])
        assert pg.counts() == (1, 1)
        assert_row_matches(rows[tid], request, first)
    finally:
        for ch in channels:
            ch.close()
        server.stop()


def test_restart_remembers_ids_from_journal_and_postgres(pg, tmp_path, monkeypatch):
    """Warm start: ids answered before a clean stop (in PostgreSQL) and before a kill -9 (maybe only in the
    journal) are answered as replays after the restart, with the same decision."""
    journal = tmp_path / "journal"
    answered = {}

    def score(server, tag, count):
        with grpc.insecure_channel(server.target) as ch:
            s = stub(ch)
            for i in range(count):
                tid = txid(f"warm-{tag}-{i}")
                answered[tid] = (small_payment(tid), s.Score(small_payment(tid), timeout=10))

    first = start_server(tmp_path, "warm-1", postgres_url=pg.url, journal=journal, monkeypatch=monkeypatch)
    score(first, "clean", 10)
    assert first.stop() == 0
    second = start_server(tmp_path, "warm-2", postgres_url=pg.url, journal=journal, monkeypatch=monkeypatch)
    score(second, "killed", 10)
    second.proc.send_signal(signal.SIGKILL)
    second.proc.wait()
    second.kill()
    third = start_server(tmp_path, "warm-3", postgres_url=pg.url, journal=journal, monkeypatch=monkeypatch)
    try:
        with grpc.insecure_channel(third.target) as ch:
            s = stub(ch)
            for tid, (request, before) in answered.items():
                again = s.Score(request, timeout=10)
                assert again.replayed, f"{tid} not recognised after the restart"
                assert (again.decision, f32(again.risk_score)) == (before.decision, f32(before.risk_score))
        assert_exactly_once(pg, answered)
    finally:
        third.stop()


# ---------------------------------------------------------------- PostgreSQL outages
class TcpProxy:
    """A loopback TCP proxy in front of PostgreSQL that can be cut (connections dropped and refused) and
    restored, to take the database away from one server without stopping the shared PostgreSQL."""

    def __init__(self, host, port):
        self.upstream = (host, port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.sockets = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.up.clear()
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets = []

    def restore(self):
        self.up.set()

    def close(self):
        self.cut()
        self.listener.close()


def url_via(url, port):
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    hostport = f"127.0.0.1:{port}"
    netloc = f"{netloc[0]}@{hostport}" if len(netloc) == 2 else hostport
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def test_backlog_cap_fails_fast_then_recovers_when_postgres_returns(pg, tmp_path, monkeypatch):
    """Back-pressure: past the cap, Score fails fast with UNAVAILABLE and health is NOT_SERVING; both
    recover by themselves once PostgreSQL is reachable again."""
    if "--backlog-cap" not in server_help():
        pytest.skip("fraud-server --help does not list --backlog-cap")
    parts = urllib.parse.urlsplit(pg.url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    server = start_server(tmp_path, "cap", postgres_url=url_via(pg.url, proxy.port),
                          journal=tmp_path / "journal", extra=["--backlog-cap", "200"], monkeypatch=monkeypatch)
    try:
        proxy.cut()
        answered, refused = {}, None
        with grpc.insecure_channel(server.target) as ch:
            s = stub(ch)
            for i in range(400):
                tid = txid(f"cap-{i}")
                request = small_payment(tid)
                start = time.monotonic()
                try:
                    answered[tid] = (request, s.Score(request, timeout=10))
                except grpc.RpcError as e:
                    assert e.code() == grpc.StatusCode.UNAVAILABLE, f"{e.code().name}: {e.details()}"
                    assert time.monotonic() - start < 1.0, "refusal was not fast"
                    refused = e
                    break
        assert refused is not None, "400 calls accepted with a cap of 200 and no database"
        assert len(answered) >= 200
        assert refused.details(), "UNAVAILABLE without a message"
        assert health_status(server.target) == health_pb2.HealthCheckResponse.NOT_SERVING
        proxy.restore()
        end = time.monotonic() + 60
        while health_status(server.target) != health_pb2.HealthCheckResponse.SERVING:
            assert time.monotonic() < end, "health did not return to SERVING after PostgreSQL came back"
            time.sleep(0.25)
        with grpc.insecure_channel(server.target) as ch:
            tid = txid("cap-after")
            answered[tid] = (small_payment(tid), stub(ch).Score(small_payment(tid), timeout=10))
        assert_exactly_once(pg, answered)
    finally:
        server.stop()
        proxy.close()


def pg_data_dir(url):
    """The data directory of the server behind url, if this machine controls it (postmaster.pid names its
    port): FRAUD_PG_DATA, else the directories scripts/pg.sh uses."""
    port = urllib.parse.urlsplit(url).port or 5432
    if os.environ.get("FRAUD_PG_DATA"):
        candidates = [os.environ["FRAUD_PG_DATA"]]
    else:
        digest = hashlib.sha256(support.ROOT.encode()).hexdigest()[:12]
        candidates = [os.path.join(support.ROOT, "var", "pg", "data"), f"/tmp/fraud-pg-{digest}/data"]
    for data in candidates:
        try:
            lines = open(os.path.join(data, "postmaster.pid")).read().split("\n")
        except OSError:
            continue
        if len(lines) > 3 and lines[3].strip() == str(port):
            return data
    return None


def pg_ctl(*args):
    cmd = [os.path.join(PG_BIN, "pg_ctl"), *args]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd="/", timeout=180)
    assert done.returncode == 0, f"{' '.join(cmd)}: {done.stdout}{done.stderr}"


@pytest.mark.slow
def test_postgres_stopped_immediately_and_restarted_10s_later_loses_nothing(pg, tmp_path, monkeypatch):
    """Acceptance 1: load running, `pg_ctl stop -m immediate`, started 10 s later: every decision the
    client received is in decisions exactly once, with identical content."""
    data = pg_data_dir(pg.base_url)
    if data is None:
        pytest.skip("cannot control the test PostgreSQL (set FRAUD_PG_DATA to its data directory)")
    server = start_server(tmp_path, "pg-restart", postgres_url=pg.url, journal=tmp_path / "journal",
                          monkeypatch=monkeypatch)
    load = Load(server.target, "pgrestart", threads=4).start()
    stopped = False
    try:
        time.sleep(2)
        pg_ctl("stop", "-D", data, "-m", "immediate", "-w", "-t", "60")
        stopped = True
        during = len(load.answered)
        time.sleep(10)
        answered_while_down = len(load.answered) - during
        pg_ctl("start", "-D", data, "-l", os.path.join(data, "postgres.log"), "-w", "-t", "120", "-s")
        stopped = False
        time.sleep(2)
        answered = load.stop()
        assert answered_while_down > 0, "no decisions answered while PostgreSQL was down"
        assert_exactly_once(pg, answered)
    finally:
        load.stop()
        if stopped:
            pg_ctl("start", "-D", data, "-l", os.path.join(data, "postgres.log"), "-w", "-t", "120", "-s")
        server.stop()
