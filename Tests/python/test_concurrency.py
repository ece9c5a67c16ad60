"""Many client threads on a few shared channels."""
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from support import pb, small_payment, stub, txid

THREADS, CALLS, CHANNELS = 64, 500, 4


@pytest.mark.slow
def test_64_threads_x_500_calls(target):
    channels = [grpc.insecure_channel(target) for _ in range(CHANNELS)]
    stubs = [stub(ch) for ch in channels]

    def worker(t):
        s = stubs[t % CHANNELS]
        problems = []
        for i in range(CALLS):
            tid = txid(f"conc-{t}-{i}")
            try:
                resp = s.Score(small_payment(tid), timeout=30)
            except grpc.RpcError as e:
                problems.append(f"{tid}: {e.code().name} {e.details()}")
                continue
            if resp.transaction_id != tid:
                problems.append(f"{tid}: answer for {resp.transaction_id!r}")
            elif resp.decision == pb.DECISION_UNSPECIFIED:
                problems.append(f"{tid}: decision unspecified")
        return problems

    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            problems = [p for ps in pool.map(worker, range(THREADS)) for p in ps]
    finally:
        for ch in channels:
            ch.close()
    assert not problems, f"{len(problems)} of {THREADS * CALLS} calls failed, e.g. {problems[:5]}"
