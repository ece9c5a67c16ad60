"""ScoreStream: many requests on one stream, answered in order."""
import pytest

from support import fraud_row, pb, small_payment, txid

N = 10_000


@pytest.mark.slow
def test_stream_of_10000_answered_in_order(scoring):
    ids = [txid(f"stream-{i}") for i in range(N)]

    def requests():
        for i, tid in enumerate(ids):
            yield fraud_row(tid) if i % 2 else small_payment(tid)

    got = []
    for resp in scoring.ScoreStream(requests(), timeout=300):
        assert resp.transaction_id == ids[len(got)], f"answer {len(got)} out of order"
        assert resp.decision != pb.DECISION_UNSPECIFIED
        assert resp.replayed is False
        got.append(resp.transaction_id)
    assert len(got) == N


def test_empty_stream_ends_ok(scoring):
    assert list(scoring.ScoreStream(iter(()), timeout=10)) == []
