"""Score: decisions on real PaySim rows, idempotency by transaction_id."""
import grpc

from support import expect_error, fraud_row, pb, small_payment, txid

FLAGGED = (pb.DECISION_REVIEW, pb.DECISION_DECLINE)


def test_paysim_fraud_row_is_flagged(scoring):
    tid = txid("fraud-row")
    resp = scoring.Score(fraud_row(tid), timeout=10)
    assert resp.transaction_id == tid
    assert resp.decision in FLAGGED, pb.Decision.Name(resp.decision)
    assert len(resp.reasons) > 0
    assert all(r.code for r in resp.reasons), resp.reasons
    assert 0.0 <= resp.risk_score <= 1.0
    assert resp.model_version != ""
    assert resp.replayed is False


def test_small_payment_is_approved(scoring):
    tid = txid("payment")
    resp = scoring.Score(small_payment(tid), timeout=10)
    assert resp.transaction_id == tid
    assert resp.decision == pb.DECISION_APPROVE, (pb.Decision.Name(resp.decision), list(resp.reasons))
    assert 0.0 <= resp.risk_score <= 1.0
    assert resp.model_version != ""
    assert resp.replayed is False


def test_same_id_same_payload_is_replayed(scoring):
    tid = txid("replay")
    first = scoring.Score(fraud_row(tid), timeout=10)
    second = scoring.Score(fraud_row(tid), timeout=10)
    assert first.replayed is False
    assert second.replayed is True
    assert second.transaction_id == tid
    assert second.decision == first.decision
    assert second.risk_score == first.risk_score
    assert [r.code for r in second.reasons] == [r.code for r in first.reasons]
    assert second.model_version == first.model_version


def test_same_id_other_payload_is_failed_precondition(scoring):
    tid = txid("conflict")
    scoring.Score(fraud_row(tid), timeout=10)
    other = fraud_row(tid)
    other.transaction.amount_cents += 1
    other.transaction.origin_balance_before_cents += 1
    err = expect_error(lambda: scoring.Score(other, timeout=10), grpc.StatusCode.FAILED_PRECONDITION)
    assert "transaction_id" in err.details(), err.details()
    # The first decision is untouched: the original payload still replays.
    again = scoring.Score(fraud_row(tid), timeout=10)
    assert again.replayed is True
