"""fraud-loadgen against a live server: JSON report, --check-tps, --fixed-request, --sweep, and the
no-coordinated-omission proof (a SIGSTOPped server shows up in the open-loop percentiles).

FRAUD_LOADGEN_BIN=path   binary under test (default .build/debug/fraud-loadgen)
"""
import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

import support

SAMPLE = os.path.join(support.ROOT, "data", "paysim_sample.csv")
PERCENTILES = ["p50", "p90", "p95", "p99", "p99_9", "max"]


def loadgen_binary():
    path = os.environ.get("FRAUD_LOADGEN_BIN", os.path.join(".build", "debug", "fraud-loadgen"))
    path = path if os.path.isabs(path) else os.path.join(support.ROOT, path)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not found: build it (swift build --product fraud-loadgen) or set FRAUD_LOADGEN_BIN",
                    pytrace=False)
    return path


def loadgen(target, *args, timeout=120):
    """Runs fraud-loadgen to completion: (returncode, stdout, stderr)."""
    cmd = [loadgen_binary(), "--target", target, "--input", SAMPLE, "--templates", "2000", *map(str, args)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=support.ROOT)
    return done.returncode, done.stdout, done.stderr


def read_report(path):
    with open(path) as f:
        return json.load(f)


def assert_valid_report(report):
    latency = report["latency_ms"]
    values = [latency[key] for key in PERCENTILES]
    assert all(v > 0 for v in values), latency
    assert values == sorted(values), f"percentiles not monotonic: {latency}"
    assert report["requests"] > 0 and report["achieved_rate"] > 0, report


def test_short_closed_loop_run_writes_a_valid_json_report(target, tmp_path):
    out = tmp_path / "report.json"
    code, stdout, stderr = loadgen(target, "--rate", "max", "--duration", "1.5", "--warmup", "0.3",
                                   "--connections", "2", "--streams", "8", "--run-id", f"{support.RUN}a",
                                   "--json-out", out)
    assert code == 0, stderr
    report = read_report(out)
    assert_valid_report(report)
    assert report["mode"] == "closed" and report.get("offered_rate") is None
    assert report["errors"] == 0 and report["errors_by_status"] == {}, report
    assert report["connections"] == 2 and report["streams"] == 8
    assert "achieved" in stdout and "p99.9" in stdout
    assert "ok/s" in stderr, "no live line on stderr"


def test_fixed_request_open_loop(target, tmp_path):
    out = tmp_path / "report.json"
    code, _, stderr = loadgen(target, "--fixed-request", "--rate", "300", "--duration", "1", "--warmup", "0.2",
                              "--run-id", f"{support.RUN}f", "--json-out", out)
    assert code == 0, stderr
    report = read_report(out)
    assert_valid_report(report)
    assert report["fixed_request"] is True and report["mode"] == "open" and report["offered_rate"] == 300
    assert report["errors"] == 0, report
    # Open loop sends every scheduled request: 300/s for 1 s (a few may fall either side of the window).
    assert 270 <= report["requests"] <= 330, report


def test_check_tps_with_an_impossible_target_fails_with_one_line(target, tmp_path):
    out = tmp_path / "report.json"
    code, _, stderr = loadgen(target, "--duration", "0.5", "--warmup", "0", "--check-tps", "100000000",
                              "--check-p95-ms", "100000", "--run-id", f"{support.RUN}c", "--json-out", out, "--quiet")
    assert code == 2, stderr
    failures = [line for line in stderr.splitlines() if "CHECK FAILED" in line]
    assert len(failures) == 1, stderr
    assert "--check-tps 100000000" in failures[0] and "p95" not in failures[0], failures[0]
    assert read_report(out)["check_misses"] == [failures[0].removeprefix("CHECK FAILED: ")]


def test_open_loop_latency_includes_a_server_stall(own_server, tmp_path):
    """No coordinated omission: requests scheduled while the server is stopped are measured from their
    scheduled time, so a 1 s SIGSTOP shows up in p99 and max (a closed-loop or send-time measurement would
    hide all but the few calls in flight)."""
    out = tmp_path / "report.json"
    cmd = [loadgen_binary(), "--target", own_server.target, "--input", SAMPLE, "--templates", "500",
           "--rate", "200", "--duration", "3", "--warmup", "0", "--connections", "2", "--timeout", "10000",
           "--run-id", f"{support.RUN}s", "--json-out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=support.ROOT)
    stderr_lines = []
    first_live_line = threading.Event()

    def pump():
        for line in proc.stderr:
            stderr_lines.append(line)
            if "ok/s" in line:
                first_live_line.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        assert first_live_line.wait(60), "no live line from fraud-loadgen:\n" + "".join(stderr_lines)
        os.kill(own_server.proc.pid, signal.SIGSTOP)
        time.sleep(1.0)
        os.kill(own_server.proc.pid, signal.SIGCONT)
        stdout, _ = proc.communicate(timeout=60)
    finally:
        os.kill(own_server.proc.pid, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
    reader.join(5)
    assert proc.returncode == 0, "".join(stderr_lines)
    report = read_report(out)
    assert report["errors"] == 0, report
    # Every scheduled request (200/s x 3 s) was sent and answered, stall or not.
    assert report["requests"] >= 570, report
    latency = report["latency_ms"]
    assert latency["max"] >= 800, f"the 1 s stall is missing from the latencies: {latency}"
    assert latency["p99"] >= 800, f"coordinated omission: p99 hides the 1 s stall: {latency}"


def loop_slices_while_running(target, *args):
    """se.slice (ns) of fraud-loadgen's event loop threads, read from /proc while it runs."""
    cmd = [loadgen_binary(), "--target", target, "--input", SAMPLE, "--templates", "200", "--rate", "100",
           "--duration", "2", "--warmup", "0", "--connections", "2", "--run-id", f"{support.RUN}t", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=support.ROOT)
    try:
        for line in proc.stderr:  # the first live line: the loops are up and sending
            if "ok/s" in line:
                break
        root = f"/proc/{proc.pid}/task"
        slices = {}
        for tid in os.listdir(root):
            with open(os.path.join(root, tid, "comm")) as f:
                if not f.read().startswith("NIO-ELT"):
                    continue
            with open(os.path.join(root, tid, "sched")) as f:
                slices[tid] = next(int(l.split(":")[1]) for l in f if l.startswith("se.slice"))
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    return slices


def test_event_loops_ask_for_a_short_time_slice(target):
    """--loop-slice-micros (default 100): the loops take answers as they arrive on a shared machine; 0 leaves
    the kernel's default. Per-thread slices of fair threads exist from Linux 6.12 on."""
    major, minor = (int(x) for x in re.match(r"(\d+)\.(\d+)", os.uname().release).groups())
    if (major, minor) < (6, 12):
        pytest.skip("per-thread time slices need Linux 6.12+")
    default = loop_slices_while_running(target)
    assert default and all(v == 100_000 for v in default.values()), default
    kernel = loop_slices_while_running(target, "--loop-slice-micros", "0")
    assert kernel and all(v != 100_000 for v in kernel.values()), kernel


@pytest.mark.slow
def test_sweep_prints_the_capacity_table_and_chart(target, tmp_path):
    out, svg = tmp_path / "sweep.json", tmp_path / "sweep.svg"
    code, stdout, stderr = loadgen(target, "--sweep", "--sweep-start", "100", "--sweep-max", "400",
                                   "--sweep-step-duration", "0.5", "--warmup", "0.2", "--sweep-p95-ms", "2000",
                                   "--run-id", f"{support.RUN}w", "--json-out", out, "--svg-out", svg, "--quiet")
    assert code == 0, stderr
    sweep = read_report(out)
    assert [step["offered_rate"] for step in sweep["steps"]] == [100, 200, 400], sweep
    assert all(step["passed"] for step in sweep["steps"]), sweep
    assert sweep["capacity_rate"] == 400
    assert "| offered req/s |" in stdout and "capacity: 400 req/s" in stdout, stdout
    assert svg.read_text().startswith("<svg")
