"""Fuzz invariant of the HI2 IRI codec: any bytes decode or raise `MalformedRecord`,
nothing else, and quickly (bounded work per record)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calea.handover import ts101671
from calea.handover.errors import MalformedRecord
from calea.handover.ts101671_encode import Cell, Iri, Party, Sms, call, encode, encode_invoke, encode_sequence

T = datetime(2026, 11, 27, 12, tzinfo=timezone.utc)
TARGET = Party(msisdn="4915112345678", imsi="262011234567890", imei="35209900176148",
               calling_number="4915112345678", keypad="12")
OTHER = Party("terminating-Party", called_number="4930123")
CELL = Cell("262", "01", 1, 2, 52.5, 13.4, 90)
VALID = [
    *call("LI-1", "42", TARGET, OTHER, CELL, T),
    *call("LI-1", "42", TARGET, OTHER, CELL, T, module="3gpp-cs"),
    encode(Iri("report", "LI-2", T, parties=(TARGET,), cell=CELL, sms=Sms("hi there", "+4930123", True))),
    encode_sequence([Iri("report", "LI-3", T, cell=CELL), Iri("end", "LI-4", T, cin="7")]),
    encode_invoke(encode(Iri("continue", "LI-5", T, cin="8", parties=(TARGET,))), 12),
]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode(data: bytes) -> None:
    started = time.perf_counter()
    try:
        deliveries = ts101671.decode(data)
    except MalformedRecord as err:
        assert err.reason
    else:
        assert deliveries and all(d.raw in data for d in deliveries)
    assert time.perf_counter() - started < 1.0


@given(st.binary(max_size=300))
@FUZZ
def test_random_bytes(data: bytes) -> None:
    _decode(data)


@given(st.sampled_from([0xA1, 0xA2, 0xA3, 0xA4, 0x30]), st.binary(max_size=300))
@FUZZ
def test_random_bodies_under_valid_outer_tags(tag: int, body: bytes) -> None:
    _decode(bytes((tag, 0x82)) + len(body).to_bytes(2, "big") + body)


@given(st.sampled_from(VALID), st.data())
@FUZZ
def test_mutated_valid_records(record: bytes, data: st.DataObject) -> None:
    mutated = bytearray(record)
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "set", "cut", "insert", "delete"]))
        pos = data.draw(st.integers(0, max(0, len(mutated) - 1)))
        if action == "flip" and mutated:
            mutated[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "set" and mutated:
            mutated[pos] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del mutated[pos:]
        elif action == "insert":
            mutated[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
        elif mutated:
            del mutated[pos]
    _decode(bytes(mutated))
