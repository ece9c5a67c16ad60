"""fraud-backfill against a live server: killed and re-run (one decision per row), malformed rows to the
rejects file, reconnect after a server restart, Ctrl-C.

FRAUD_BACKFILL_BIN=path   binary under test (default .build/debug/fraud-backfill)
"""
import gzip
import json
import os
import random
import signal
import subprocess
import time

import pytest

import support
from test_persistence import Postgres, pg, start_server  # noqa: F401 (pg is a fixture)

SAMPLE = os.path.join(support.ROOT, "data", "paysim_sample.csv")
HEADER = "step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,isFraud,isFlaggedFraud"


def backfill_binary():
    path = os.environ.get("FRAUD_BACKFILL_BIN", os.path.join(".build", "debug", "fraud-backfill"))
    path = path if os.path.isabs(path) else os.path.join(support.ROOT, path)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not found: build it (swift build --product fraud-backfill) or set FRAUD_BACKFILL_BIN",
                    pytrace=False)
    return path


def sample_rows(count, sort_by_step=False):
    """The first `count` valid rows of the bundled sample (rows with amount 0 fail validation)."""
    rows = []
    with open(SAMPLE) as f:
        next(f)
        for line in f:
            line = line.rstrip("\n")
            if float(line.split(",")[2]) > 0:
                rows.append(line)
            if len(rows) == count:
                break
    if sort_by_step:
        rows.sort(key=lambda row: int(row.split(",")[0]))  # stable
    return rows


def write_csv(path, lines, compress=False):
    text = "\n".join([HEADER, *lines]) + "\n"
    if compress:
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


class Backfill:
    """One input file with its checkpoint, rejects and summary paths."""

    def __init__(self, target, path, prefix, tmp_path, name="run", streams=1):
        self.target, self.path, self.prefix, self.streams = target, str(path), prefix, streams
        self.checkpoint = str(tmp_path / f"{name}.checkpoint")
        self.rejects = str(tmp_path / f"{name}.rejects")
        self.summary = str(tmp_path / f"{name}.json")

    def command(self, *extra):
        return [backfill_binary(), self.path, "--target", self.target, "--id-prefix", self.prefix,
                "--checkpoint", self.checkpoint, "--rejects", self.rejects, "--json-out", self.summary,
                "--streams", str(self.streams), *map(str, extra)]

    def run(self, *extra, timeout=300):
        done = subprocess.run(self.command(*extra), capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout, done.stderr

    def start(self, *extra):
        return subprocess.Popen(self.command(*extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def position(self):
        try:
            with open(self.checkpoint) as f:
                return json.load(f)["position"]
        except (OSError, ValueError, KeyError):
            return 0  # not written yet, or caught mid-rename

    def wait_for_position(self, proc, at_least, limit_s=120):
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            if self.position() >= at_least:
                return
            if proc.poll() is not None:
                raise AssertionError(f"fraud-backfill exited with {proc.returncode} before row {at_least}:\n"
                                     + proc.stderr.read())
            time.sleep(0.02)
        raise AssertionError(f"checkpoint did not reach {at_least} rows within {limit_s} s")

    def read_summary(self):
        with open(self.summary) as f:
            return json.load(f)

    def reject_lines(self):
        with open(self.rejects) as f:
            return [line.rstrip("\n").split("\t") for line in f]


def decisions(summary):
    t = summary["tally"]
    return t["approved"], t["reviewed"], t["declined"]


@pytest.mark.parametrize("streams", [1, 3])
def test_killed_backfill_rerun_gives_one_decision_per_row(target, tmp_path, streams):
    rows = sample_rows(6000, sort_by_step=True)
    path = write_csv(tmp_path / "history.csv.gz", rows, compress=True)
    job = Backfill(target, path, f"bf-{support.RUN}-kill{streams}", tmp_path, streams=streams)

    # Run 1: slowed down so it can be killed half-way, then SIGKILL (no chance to save anything more).
    proc = job.start("--max-rate", "2000", "--window", "64", "--batch", "16", "--checkpoint-interval", "0.05")
    try:
        job.wait_for_position(proc, 1000)
    finally:
        proc.kill()
        proc.wait()
    killed_at = job.position()
    assert 0 < killed_at < len(rows), f"checkpoint at {killed_at}: the run was not killed half-way"

    # Run 2: the same command continues from the checkpoint and finishes.
    code, stdout, stderr = job.run()
    assert code == 0, stderr
    second = job.read_summary()
    tally = second["tally"]
    assert second["complete"] and second["rows"] == second["done"] == len(rows), second
    assert second["this_run"]["resumed_from_position"] == killed_at
    assert second["this_run"]["rows"] == len(rows) - killed_at
    assert tally["rejected"] == 0
    # Every row answered exactly once over both runs: rows run 1 answered after its last checkpoint come
    # back as idempotent replays, the rest are new decisions.
    assert tally["scored"] + tally["replayed"] == len(rows), tally
    assert f"{len(rows)} of {len(rows)} rows done" in stdout

    # Run 3 from scratch: the server already holds one decision for every id, so nothing is new and the
    # decisions are the ones counted above.
    fresh = Backfill(target, path, job.prefix, tmp_path, name="again", streams=streams)
    code, _, stderr = fresh.run("--restart")
    assert code == 0, stderr
    third = fresh.read_summary()
    assert third["tally"]["scored"] == 0, third["tally"]
    assert third["tally"]["replayed"] == len(rows)
    assert decisions(third) == decisions(second)
    assert (third["recall"], third["precision"]) == (second["recall"], second["precision"])

    # Run 2 again: nothing left to do.
    code, stdout, stderr = job.run()
    assert code == 0 and "nothing to do" in stderr, stderr


def test_malformed_rows_end_up_in_the_rejects_file(target, tmp_path):
    rows = sample_rows(300)  # the sample is not in step order: this also takes the indexed path
    good = rows[0].split(",")

    def variant(**changes):
        fields = list(good)
        for index, value in changes.items():
            fields[int(index[1:])] = value
        return ",".join(fields)

    bad = {
        5: "this is not a csv row",
        17: variant(c2="12x.00"),  # amount does not parse
        40: variant(c1="BOGUS"),  # unknown type
        77: variant(c2="-5.00"),  # parses, fails validation (amount > 0)
        120: rows[1] + ",extra",  # 12 fields
        200: variant(c3=""),  # empty origin account
        250: variant(c9="2"),  # isFraud not 0/1
    }
    lines = list(rows)
    for line_number in sorted(bad):
        lines.insert(line_number - 2, bad[line_number])  # line 1 is the header
    lines.insert(150, "")  # a blank line is not a row
    blank_line = 152
    expected = {n if n < blank_line else n + 1 for n in bad}
    path = write_csv(tmp_path / "dirty.csv", lines)
    job = Backfill(target, path, f"bf-{support.RUN}-dirty", tmp_path)

    code, stdout, stderr = job.run()
    assert code == 0, stderr
    rejects = job.reject_lines()
    assert sorted(int(fields[0]) for fields in rejects) == sorted(expected), rejects
    assert all(fields[1].startswith(("parse error: ", "invalid: ")) for fields in rejects), rejects
    text = path.read_text().splitlines()
    for fields in rejects:  # the numbers point at the bad lines themselves
        assert text[int(fields[0]) - 1] in bad.values()
    summary = job.read_summary()
    assert summary["complete"] and summary["rows"] == len(rows) + len(bad)
    assert summary["tally"]["rejected"] == len(bad)
    assert summary["tally"]["scored"] + summary["tally"]["replayed"] == len(rows)


def test_backfill_reconnects_after_a_server_restart(own_server, tmp_path):
    rows = sample_rows(4000, sort_by_step=True)
    path = write_csv(tmp_path / "restart.csv", rows)
    job = Backfill(own_server.target, path, f"bf-{support.RUN}-restart", tmp_path)
    proc = job.start("--max-rate", "1500", "--window", "64", "--batch", "16", "--checkpoint-interval", "0.1")
    replacement = None
    try:
        job.wait_for_position(proc, 500)
        own_server.proc.kill()
        own_server.proc.wait()
        replacement = support.ServerProcess(str(tmp_path / "fraud-server-2.log"), own_server.binary)
        replacement.port, replacement.target = own_server.port, own_server.target
        replacement.start()
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
        if replacement:
            replacement.kill()
    assert proc.returncode == 0, stderr
    assert "reconnecting" in stderr
    summary = job.read_summary()
    assert summary["complete"] and summary["done"] == len(rows)
    assert summary["this_run"]["reconnects"] >= 1
    # The new server has no memory of the old one's ids: rows in flight at the crash are scored again there,
    # but each row is still counted once.
    assert summary["tally"]["scored"] + summary["tally"]["replayed"] == len(rows)


def test_interrupt_saves_the_checkpoint_and_exits_130(target, tmp_path):
    rows = sample_rows(3000, sort_by_step=True)
    path = write_csv(tmp_path / "int.csv", rows)
    job = Backfill(target, path, f"bf-{support.RUN}-int", tmp_path)
    proc = job.start("--max-rate", "1000", "--checkpoint-interval", "0.1")
    job.wait_for_position(proc, 200)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "INCOMPLETE" in stdout and "stopped: interrupted" in stdout
    summary = job.read_summary()
    assert 0 < summary["done"] < len(rows)
    assert job.position() == summary["done"], "the checkpoint on disk is not the one reported"


def shared_account_rows(count, accounts=40, seed=7):
    """Sample rows (in step order) rewritten onto a few accounts, so that most rows share an account with
    rows just before them and velocity features depend on the order they are scored in."""
    rng = random.Random(seed)
    rows = []
    for line in sample_rows(count, sort_by_step=True):
        fields = line.split(",")
        fields[3] = f"C{rng.randrange(accounts)}"
        fields[6] = fields[6][0] + str(rng.randrange(accounts))
        rows.append(",".join(fields))
    return rows


def test_several_streams_score_like_one(pg, tmp_path, monkeypatch):
    """--streams 4 spreads the rows over four connections (four server event loops) and still gives every
    row the decision and score a single stream gives: rows sharing an account keep their order. The rules
    model scores velocity (ORIGIN_VELOCITY_1H ...), so on these rows the order they are scored in shows."""
    rows = shared_account_rows(3000)
    path = write_csv(tmp_path / "shared.csv", rows)
    results = {}
    second = Postgres(pg.base_url)
    for streams, db in ((1, pg), (4, second)):
        # A fresh server each with a schema of its own: a server warm-starts from the decisions it finds, and
        # must start with empty velocity state.
        try:
            server = start_server(tmp_path, f"server-{streams}", postgres_url=db.url, journal=tmp_path / f"j{streams}",
                                  extra=["--threads", "4", "--model", "rules"], monkeypatch=monkeypatch)
        except BaseException:
            second.drop()
            raise
        try:
            job = Backfill(server.target, path, f"bf-{support.RUN}-s{streams}", tmp_path, name=f"s{streams}",
                           streams=streams)
            code, _, stderr = job.run()
            assert code == 0, stderr
            summary = job.read_summary()
            assert summary["complete"] and summary["tally"]["scored"] == len(rows), summary
            ids = [f"{job.prefix}-{line}" for line in range(2, len(rows) + 2)]
            stored = db.wait_for(ids)
        finally:
            server.kill()
            if db is second:
                second.drop()
        results[streams] = {
            tid.rsplit("-", 1)[1]: (row["decision"], row["risk_score"], json.dumps(row["reasons"], sort_keys=True))
            for tid, row in stored.items() if tid in set(ids)
        }
    assert len(results[1]) == len(results[4]) == len(rows)
    different = [line for line in results[1] if results[1][line] != results[4][line]]
    assert not different, f"{len(different)} rows scored differently, e.g. line {different[0]}: " \
                          f"{results[1][different[0]]} vs {results[4][different[0]]}"
    flagged = sum(1 for decision, _, _ in results[1].values() if decision != "APPROVE")
    assert flagged > 0, "the data set should flag some rows"
