"""Our own clients against a secured server (TLS + JWT, fraud-server's default set-up): fraud-backfill and
fraud-loadgen with --tls-ca and a scorer token (--token-file or FRAUD_TOKEN); without a token, with an analyst
token and with a CA that does not sign the server's certificate they stop with the reason visible.

Certificates from test_tls's `pki` fixture, keys and tokens from fraud-ctl (test_auth).
"""
import json
import os
import subprocess

import pytest

import support
from test_auth import make_auth_dir, token
from test_backfill import Backfill, backfill_binary, sample_rows, write_csv  # noqa: F401
from test_loadgen import SAMPLE, loadgen_binary
from test_tls import pki, start_tls_server, root_credentials  # noqa: F401 (pki is a fixture)

ROWS = 40


@pytest.fixture(scope="module")
def secured(tmp_path_factory, pki):  # noqa: F811
    """fraud-server with TLS (CA-signed certificate for 127.0.0.1) and JWT auth; tokens by role in files."""
    d = tmp_path_factory.mktemp("secured")
    keys, users = make_auth_dir(d)
    server = start_tls_server(d, pki, "--jwt-keys", str(keys), "--users", str(users), "--audit-log",
                              str(d / "audit.jsonl"), credentials=root_credentials(pki))
    server.tokens = {}
    for role in ("scorer", "analyst"):
        path = d / f"{role}.token"
        path.write_text(token(keys, role) + "\n")
        server.tokens[role] = path
    yield server
    assert server.stop() == 0, support.tail(server.log_path)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "FRAUD_TOKEN"}
    env.update(extra)
    return env


def run(cmd, env=None, timeout=120):
    done = subprocess.run(list(map(str, cmd)), capture_output=True, text=True, timeout=timeout, cwd=support.ROOT,
                          env=env or clean_env())
    return done.returncode, done.stdout, done.stderr


def backfill(secured, pki, tmp_path, name, *extra, env=None):  # noqa: F811
    csv = write_csv(tmp_path / f"{name}.csv", sample_rows(ROWS))
    job = Backfill(secured.target, csv, f"tlsbf-{support.RUN}-{name}", tmp_path, name=name)
    code, out, err = run(job.command("--max-retries", "2", *extra), env=env)
    return job, code, out + err


def test_backfill_over_tls_with_a_scorer_token_scores_every_row(secured, pki, tmp_path):  # noqa: F811
    job, code, output = backfill(secured, pki, tmp_path, "ok", "--tls-ca", pki / "ca.pem",
                                 "--token-file", secured.tokens["scorer"])
    assert code == 0, output
    summary = job.read_summary()
    assert summary["complete"] and summary["done"] == ROWS, summary
    assert summary["tally"]["scored"] + summary["tally"]["replayed"] == ROWS, summary
    assert summary["tally"]["rejected"] == 0 and summary.get("failure") is None, summary
    assert open(secured.tokens["scorer"]).read().strip() not in output  # the token is never printed


@pytest.mark.parametrize("role, status", [(None, "UNAUTHENTICATED"), ("analyst", "PERMISSION_DENIED")])
def test_backfill_without_a_scoring_token_stops_with_the_status(secured, pki, tmp_path, role, status):  # noqa: F811
    extra = ["--token-file", secured.tokens[role]] if role else []
    job, code, output = backfill(secured, pki, tmp_path, f"refused-{role}", "--tls-ca", pki / "ca.pem", *extra)
    assert code == 1, output
    assert status in output, output
    summary = job.read_summary()
    assert not summary["complete"] and summary["tally"]["scored"] == 0, summary
    assert status in summary["failure"], summary
    assert "reconnecting" not in output  # refused credentials are not retried


def test_backfill_with_a_ca_that_did_not_sign_the_server_fails_the_handshake(secured, pki, tmp_path):  # noqa: F811
    # The server's own certificate is no CA: the chain does not verify.
    job, code, output = backfill(secured, pki, tmp_path, "wrong-ca", "--tls-ca", pki / "server.pem",
                                 "--token-file", secured.tokens["scorer"])
    assert code == 1, output
    assert "certificate verify failed" in output, output
    assert "reconnecting" not in output


def test_backfill_in_cleartext_to_the_tls_port_fails(secured, pki, tmp_path):  # noqa: F811
    job, code, output = backfill(secured, pki, tmp_path, "plain", "--token-file", secured.tokens["scorer"])
    assert code == 1, output
    assert job.read_summary()["tally"]["scored"] == 0


def loadgen(secured, pki, tmp_path, *extra, env=None):  # noqa: F811
    report = tmp_path / "report.json"
    code, out, err = run([loadgen_binary(), "--target", secured.target, "--input", SAMPLE, "--templates", "500",
                          "--tls-ca", pki / "ca.pem", "--rate", "max", "--duration", "1", "--warmup", "0.2",
                          "--connections", "2", "--streams", "4", "--run-id", f"{support.RUN}tls", "--quiet",
                          "--json-out", report, *extra], env=env)
    return code, out + err, (json.loads(report.read_text()) if report.exists() else None)


def test_loadgen_over_tls_with_fraud_token_gets_only_ok_answers(secured, pki, tmp_path):  # noqa: F811
    scorer = open(secured.tokens["scorer"]).read().strip()
    code, output, report = loadgen(secured, pki, tmp_path, env=clean_env(FRAUD_TOKEN=scorer))
    assert code == 0, output
    assert report["requests"] > 0 and report["errors"] == 0 and report["errors_by_status"] == {}, report
    assert scorer not in output


def test_loadgen_without_a_token_reports_unauthenticated(secured, pki, tmp_path):  # noqa: F811
    code, output, report = loadgen(secured, pki, tmp_path)
    assert code == 3, output
    assert "UNAUTHENTICATED" in output and "REFUSED" in output, output
    assert report["requests"] == 0 and report["errors_by_status"].get("UNAUTHENTICATED", 0) > 0, report
