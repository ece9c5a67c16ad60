"""One test per error status of the contract."""
import threading

import grpc
import pytest

from support import (SCORE, SCORE_STREAM, expect_error, fraud_row, grpc_headers, h2_request, pb, raw_unary,
                     small_payment, txid, with_raw_type)

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def score_error(scoring, request, code=INVALID):
    return expect_error(lambda: scoring.Score(request, timeout=10), code)


def test_missing_transaction(scoring):
    err = score_error(scoring, pb.ScoreRequest())
    assert "transaction" in err.details(), err.details()


def test_empty_transaction_id(scoring):
    err = score_error(scoring, fraud_row(""))
    assert "transaction_id" in err.details(), err.details()


def test_transaction_id_of_129_characters(scoring):
    tid = txid("long-")
    tid += "x" * (129 - len(tid))
    assert len(tid) == 129
    err = score_error(scoring, fraud_row(tid))
    assert "transaction_id" in err.details(), err.details()


def test_transaction_id_of_128_characters_is_fine(scoring):
    tid = txid("max-")
    tid += "x" * (128 - len(tid))
    assert scoring.Score(fraud_row(tid), timeout=10).transaction_id == tid


@pytest.mark.parametrize("amount", [0, -5])
def test_amount_not_positive(scoring, amount):
    req = small_payment(txid(f"amount{amount}"))
    req.transaction.amount_cents = amount
    err = score_error(scoring, req)
    assert "amount_cents" in err.details(), err.details()


@pytest.mark.parametrize("field", ["origin_balance_before_cents", "origin_balance_after_cents",
                                   "destination_balance_before_cents", "destination_balance_after_cents"])
def test_negative_balance(scoring, field):
    req = small_payment(txid(f"neg-{field}"))
    setattr(req.transaction, field, -100)
    err = score_error(scoring, req)
    assert field in err.details(), err.details()


def test_type_unspecified(scoring):
    req = small_payment(txid("type0"))
    req.transaction.type = pb.TRANSACTION_TYPE_UNSPECIFIED
    err = score_error(scoring, req)
    assert "type" in err.details(), err.details()


def test_unknown_type_42(channel):
    payload = with_raw_type(small_payment(txid("type42")), 42)
    assert pb.ScoreRequest.FromString(payload).transaction.type == 42  # really 42 on the wire
    err = expect_error(lambda: raw_unary(channel, SCORE, payload), INVALID)
    assert "type" in err.details(), err.details()


@pytest.mark.parametrize("garbage", [
    b"\x0a\x64only-a-few-bytes",   # field 1 claims 100 bytes, 16 follow
    b"\x0f\x00\x00\x00",           # field 1 with wire type 7 (does not exist)
    b"\x0a\x05\x0a\xff\xff\xff\xff",  # transaction_id length varint runs off the end
], ids=["truncated", "bad-wire-type", "bad-varint"])
def test_undecodable_protobuf_is_internal(channel, garbage):
    expect_error(lambda: raw_unary(channel, SCORE, garbage), grpc.StatusCode.INTERNAL)


def test_message_over_64_kib_is_resource_exhausted(scoring):
    req = fraud_row("x" * 70_000)
    assert req.ByteSize() > 64 * 1024
    score_error(scoring, req, grpc.StatusCode.RESOURCE_EXHAUSTED)


def test_gzip_compressed_message_is_unimplemented(scoring):
    req = small_payment(txid("gzip"))
    expect_error(lambda: scoring.Score(req, timeout=10, compression=grpc.Compression.Gzip),
                 grpc.StatusCode.UNIMPLEMENTED)


def test_gzip_flagged_frame_is_unimplemented(target):
    """grpcio sends `grpc-encoding: gzip` but leaves small messages uncompressed (flag 0); this sends a
    really compressed frame (flag 1) over raw HTTP/2."""
    import gzip
    import struct

    payload = gzip.compress(small_payment(txid("gzip-raw")).SerializeToString())
    body = b"\x01" + struct.pack(">I", len(payload)) + payload
    headers, _, trailers = h2_request(target, grpc_headers(target, SCORE, [("grpc-encoding", "gzip")]), body)
    status = trailers.get("grpc-status", headers.get("grpc-status"))
    assert status == str(grpc.StatusCode.UNIMPLEMENTED.value[0]), (headers, trailers)


def test_unknown_method_is_unimplemented(channel):
    payload = small_payment(txid("nope")).SerializeToString()
    expect_error(lambda: raw_unary(channel, "/fraud.v1.FraudScoring/Nope", payload), grpc.StatusCode.UNIMPLEMENTED)


def test_unknown_service_is_unimplemented(channel):
    payload = small_payment(txid("nosvc")).SerializeToString()
    expect_error(lambda: raw_unary(channel, "/fraud.v1.Nothing/Score", payload), grpc.StatusCode.UNIMPLEMENTED)


def test_stream_deadline_is_deadline_exceeded(scoring):
    """One request, then the request stream stays open past the 0.5 s deadline."""
    tid = txid("deadline")
    release = threading.Event()

    def requests():
        yield small_payment(tid)
        release.wait(2)  # keep the stream open (the test ends it early once the call is over)

    call = scoring.ScoreStream(requests(), timeout=0.5)
    got = []
    try:
        with pytest.raises(grpc.RpcError) as info:
            for resp in call:
                got.append(resp.transaction_id)
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, info.value.details()
        assert got == [tid]  # the request sent in time was answered
    finally:
        release.set()


def test_stream_deadline_is_enforced_by_the_server(target):
    """Same over raw HTTP/2 with grpc-timeout: 500m, so that the status comes from the server (a grpcio
    client would report DEADLINE_EXCEEDED by itself)."""
    from support import frame, unframe_all

    tid = txid("deadline-raw")
    headers, body, trailers = h2_request(
        target, grpc_headers(target, SCORE_STREAM, [("grpc-timeout", "500m")]),
        frame(small_payment(tid)), end_stream=False, timeout=15)
    status = trailers.get("grpc-status", headers.get("grpc-status"))
    assert headers.get(":status") == "200", headers
    assert status == str(grpc.StatusCode.DEADLINE_EXCEEDED.value[0]), (headers, trailers)
    answers = [pb.ScoreResponse.FromString(p) for p in unframe_all(body)]
    assert [a.transaction_id for a in answers] == [tid]


def test_non_grpc_content_type_is_http_415(target):
    hdrs = [(k, "text/plain") if k == "content-type" else (k, v) for k, v in grpc_headers(target, SCORE)]
    headers, _, _ = h2_request(target, hdrs, b"hello")
    assert headers.get(":status") == "415", headers


def test_step_far_ahead_is_invalid_and_counts_nothing(scoring):
    """One call with a step far in the future would make every account of its velocity shards look new
    from then on: it is refused, and the refused call leaves no trace."""
    base = small_payment(txid("step-base"))
    assert not scoring.Score(base, timeout=10).replayed  # the server has now scored step 1
    far = small_payment(txid("step-far"))
    far.transaction.step = 4_000_000_000
    err = score_error(scoring, far)
    assert "transaction.step" in err.details() and "ahead" in err.details(), err.details()
    far.transaction.step = 2  # the same id with a sane step: scored afresh, nothing was recorded
    assert not scoring.Score(far, timeout=10).replayed
    repeat = small_payment(txid("step-repeat"), origin=base.transaction.origin_account)
    repeat.transaction.step = 3
    assert not scoring.Score(repeat, timeout=10).replayed


def test_server_still_answers_after_errors(scoring):
    """Runs last in this file: the errors above left the server healthy (no crash in an error path)."""
    tid = txid("after-errors")
    assert scoring.Score(small_payment(tid), timeout=10).transaction_id == tid
