#!/usr/bin/env python3
"""Replays a PaySim CSV through fraud.v1.FraudScoring/ScoreStream and prints a short summary.

usage: .venv/bin/python scripts/replay.py [CSV] [--target HOST:PORT] [--limit N] [--id-prefix P]

Rows are sent in step order (stable sort by `step`, file order within a step) on one stream, answered
in order. Amounts are exact integer cents (parsed as Decimal), the label comes from `isFraud`
(backfill-style: stored with the decision, never used to score), ids are `<prefix>-<line number>`
(line 1 is the header). Rows the contract rejects (amount <= 0, negative balance, unknown type) are
not sent: one INVALID_ARGUMENT would end the whole stream. Needs grpcio + grpcio-tools (.venv,
scripts/setup.sh); the fraud.v1 Python modules are generated from proto/ into a temp dir at start.
"""
import argparse
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal, InvalidOperation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CSV = os.path.join(ROOT, "data", "paysim_sample.csv")
# Weight of one legit row of data/paysim_sample.csv in the full population (see data/README.md).
SAMPLE_LEGIT_WEIGHT = Decimal("256.37")
TYPES = {"PAYMENT": 1, "TRANSFER": 2, "CASH_OUT": 3, "CASH_IN": 4, "DEBIT": 5}
DECISIONS = {0: "UNSPECIFIED", 1: "APPROVE", 2: "REVIEW", 3: "DECLINE"}


def load_protos():
    """Generates fraud_pb2 from proto/ into a temp dir and imports it."""
    with tempfile.TemporaryDirectory(prefix="fraud-replay-pb-") as out:
        proto = os.path.join(ROOT, "proto")
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", proto, f"--python_out={out}",
                        "fraud/v1/fraud.proto"], check=True)
        sys.path.insert(0, out)
        try:
            from fraud.v1 import fraud_pb2  # noqa: PLC0415 (generated just above)
        finally:
            sys.path.remove(out)
    return fraud_pb2


def cents(text, line, column):
    """'181.00' -> 18100, exactly; ValueError on anything that is not a whole number of cents."""
    try:
        value = Decimal(text) * 100
    except InvalidOperation:
        raise ValueError(f"line {line}: {column} {text!r} is not a decimal number") from None
    if value != value.to_integral_value():
        raise ValueError(f"line {line}: {column} {text!r} has fractions of a cent")
    return int(value)


def read_rows(path):
    """Yields (line number, row dict) in step order (stable)."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        rows = [(reader.line_num, row) for row in reader]
    rows.sort(key=lambda item: int(item[1]["step"]))  # sort() is stable: file order within a step
    return rows


def to_request(pb, line, row, prefix):
    """One CSV row -> (ScoreRequest, is_fraud), or (None, why) when the server would reject it."""
    amount = cents(row["amount"], line, "amount")
    balances = [cents(row[c], line, c) for c in ("oldbalanceOrg", "newbalanceOrig", "oldbalanceDest",
                                                 "newbalanceDest")]
    kind = TYPES.get(row["type"])
    if kind is None:
        return None, f"unknown type {row['type']!r}"
    if amount <= 0:
        return None, "amount <= 0"
    if min(balances) < 0:
        return None, "negative balance"
    is_fraud = row["isFraud"].strip() == "1"
    txn = pb.Transaction(
        transaction_id=f"{prefix}-{line}", step=int(row["step"]), type=kind, amount_cents=amount,
        origin_account=row["nameOrig"], origin_balance_before_cents=balances[0],
        origin_balance_after_cents=balances[1], destination_account=row["nameDest"],
        destination_balance_before_cents=balances[2], destination_balance_after_cents=balances[3])
    label = pb.LABEL_FRAUD if is_fraud else pb.LABEL_LEGITIMATE
    return pb.ScoreRequest(transaction=txn, label=label), is_fraud


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csv", nargs="?", default=DEFAULT_CSV, help="PaySim CSV (default: data/paysim_sample.csv)")
    ap.add_argument("--target", default=os.environ.get("FRAUD_TARGET", "127.0.0.1:50051"),
                    help="server host:port (default: $FRAUD_TARGET or 127.0.0.1:50051)")
    ap.add_argument("--limit", type=int, default=0, help="replay only the first N rows in step order")
    ap.add_argument("--id-prefix", default="paysim",
                    help="transaction_id prefix (default paysim; change it to score the rows again "
                         "instead of getting replayed answers)")
    ap.add_argument("--token", default=os.environ.get("FRAUD_TOKEN"),
                    help="bearer token (role scorer) sent as `authorization` metadata (default: $FRAUD_TOKEN)")
    ap.add_argument("--tls-ca", help="PEM CA/certificate to verify the server with: connect over TLS")
    ap.add_argument("--connect-timeout", type=float, default=15.0, help="seconds to wait for the server")
    args = ap.parse_args()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends us quietly

    import grpc  # noqa: PLC0415 (after argparse, so --help works without the venv)

    pb = load_protos()
    rows = read_rows(args.csv)
    if args.limit > 0:
        rows = rows[:args.limit]
    requests, frauds, skipped = [], [], Counter()
    for line, row in rows:
        req, info = to_request(pb, line, row, args.id_prefix)
        if req is None:
            skipped[info] += 1
        else:
            requests.append(req)
            frauds.append(info)

    if args.tls_ca:
        with open(args.tls_ca, "rb") as f:
            channel = grpc.secure_channel(args.target, grpc.ssl_channel_credentials(root_certificates=f.read()))
    else:
        channel = grpc.insecure_channel(args.target)
    metadata = [("authorization", f"Bearer {args.token}")] if args.token else None
    try:
        grpc.channel_ready_future(channel).result(timeout=args.connect_timeout)
    except grpc.FutureTimeoutError:
        sys.exit(f"replay: no connection to {args.target} within {args.connect_timeout:.0f} s "
                 "(is fraud-server running? --target)")
    score_stream = channel.stream_stream(
        "/fraud.v1.FraudScoring/ScoreStream",
        request_serializer=pb.ScoreRequest.SerializeToString,
        response_deserializer=pb.ScoreResponse.FromString)

    outcomes, replayed = Counter(), 0
    caught = false_positives = 0
    start = time.monotonic()
    n = 0
    try:
        for n, resp in enumerate(score_stream(iter(requests), metadata=metadata), 1):
            want = requests[n - 1].transaction.transaction_id
            if resp.transaction_id != want:
                sys.exit(f"replay: answer {n} is for {resp.transaction_id!r}, expected {want!r} (out of order)")
            decision = DECISIONS.get(resp.decision, str(resp.decision))
            outcomes[decision] += 1
            replayed += resp.replayed
            flagged = decision in ("REVIEW", "DECLINE")
            if frauds[n - 1]:
                caught += flagged
            else:
                false_positives += flagged
    except grpc.RpcError as e:
        sys.exit(f"replay: stream failed after {n} answers: {e.code().name}: {e.details()}")
    elapsed = time.monotonic() - start
    if n != len(requests):
        sys.exit(f"replay: stream ended after {n} of {len(requests)} answers")

    total_frauds = sum(frauds)
    legit = len(requests) - total_frauds
    print(f"replayed {n} rows of {os.path.relpath(args.csv)} to {args.target} in step order "
          f"in {elapsed:.2f} s ({n / elapsed if elapsed > 0 else 0:,.0f} rows/s)")
    if skipped:
        print("skipped (the contract rejects them): "
              + ", ".join(f"{count} with {why}" for why, count in sorted(skipped.items())))
    print("decisions: " + ", ".join(f"{d} {outcomes[d]}" for d in ("APPROVE", "REVIEW", "DECLINE"))
          + "".join(f", {d} {c}" for d, c in outcomes.items() if d not in ("APPROVE", "REVIEW", "DECLINE")))
    if replayed:
        print(f"replayed answers (ids seen before, nothing counted twice): {replayed}; "
              "use --id-prefix to score afresh")
    pct = f" ({100 * caught / total_frauds:.1f} %)" if total_frauds else ""
    print(f"frauds caught (REVIEW or DECLINE): {caught} / {total_frauds}{pct}")
    print(f"false positives (legit rows sent to REVIEW or DECLINE): {false_positives} / {legit}")
    if os.path.abspath(args.csv) == DEFAULT_CSV and (caught or false_positives):
        # The sample keeps every fraud but only 1 in 256.37 legit rows.
        est = Decimal(caught) / (Decimal(caught) + Decimal(false_positives) * SAMPLE_LEGIT_WEIGHT)
        print(f"estimated precision at the natural fraud rate (legit rows weighted {SAMPLE_LEGIT_WEIGHT}): "
              f"{100 * est:.1f} %")


if __name__ == "__main__":
    main()
