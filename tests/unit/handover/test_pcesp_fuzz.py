"""Fuzz invariant of the PCESP CDC codec: any bytes decode or raise `MalformedRecord`."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calea.handover import pcesp
from calea.handover import pcesp_encode as pe
from calea.handover.errors import MalformedRecord

T = datetime(2026, 11, 27, 12, tzinfo=timezone.utc)
CALL = pe.CallIdentity("1,2", "CMS")
VALID = [
    *pe.call_flow("C", "AE", CALL, "2125550100", "7185550199", (1, 2), T, post_cut_through="9"),
    pe.redirection("C", "AE", T, CALL, "1", CALL, "2"),
    pe.subject_signal("C", "AE", T, CALL, "1", dialed_digits="5", feature_key="F"),
    pe.termination_attempt("C", "AE", T, CALL, "1", "2"),
]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode(data: bytes) -> None:
    started = time.perf_counter()
    try:
        delivery = pcesp.decode_cdc(data)
    except MalformedRecord as err:
        assert err.reason
    else:
        assert delivery.raw == data
    assert time.perf_counter() - started < 1.0


@given(st.binary(max_size=300))
@FUZZ
def test_random_bytes(data: bytes) -> None:
    _decode(data)


@given(st.binary(max_size=300))
@FUZZ
def test_random_bodies_under_the_outer_tag(body: bytes) -> None:
    _decode(b"\x30\x82" + len(body).to_bytes(2, "big") + body)


@given(st.sampled_from(VALID), st.data())
@FUZZ
def test_mutated_valid_records(record: bytes, data: st.DataObject) -> None:
    mutated = bytearray(record)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(mutated) - 1)) if mutated else 0
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip" and mutated:
            mutated[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "cut":
            del mutated[pos:]
        else:
            mutated[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
    _decode(bytes(mutated))
