"""ETSI TS 102 232 (LI-PS-PDU) handover codec: the public API.

SPEC: ETSI TS 102 232-1 (PS-PDU, keep-alive, integrity check), -3 (IP access), -5 (IP
multimedia).  Sans-I/O: bytes in, values out; no socket, clock or database.

    header = read_header(record)        # fast path for every record: LIID, CIN, seq, stamp, kind
    if header.kind is RecordKind.KEEPALIVE:
        transport.write(keepalive_response(record))
    delivery = decode(record, Channel.HI3)   # full decode into calea.handover.model.Delivery
    record = encode_ps_pdu(header, IPMMCC("fromTarget", packet))   # simulator / tests

Records come from `calea.handover.framing.RecordSplitter`.  Malformed input raises
`calea.handover.errors.MalformedRecord` and nothing else.

Modules: `etsi102232_types` (PSHeader, value names, payload classes), `_header` and
`_fast` (read_header), `_decode` and `_payloads` (decode), `_sip` and `_packets`
(signalling and packet facts), `_encode` (encoders).
"""

from __future__ import annotations

from calea.handover.etsi102232_decode import FORMAT, decode
from calea.handover.etsi102232_encode import (
    encode_header,
    encode_ip_address,
    encode_keepalive,
    encode_ps_pdu,
    kind_of,
)
from calea.handover.etsi102232_header import keepalive_response, read_header, scan
from calea.handover.etsi102232_types import (
    IPCC,
    IPIRI,
    IPMMCC,
    IPMMIRI,
    LI_PS_DOMAIN_ID,
    IntegrityCheck,
    KeepAlive,
    KeepAliveResponse,
    Payload,
    PSHeader,
)

__all__ = [
    "FORMAT",
    "IPCC",
    "IPIRI",
    "IPMMCC",
    "IPMMIRI",
    "LI_PS_DOMAIN_ID",
    "IntegrityCheck",
    "KeepAlive",
    "KeepAliveResponse",
    "PSHeader",
    "Payload",
    "decode",
    "encode_header",
    "encode_ip_address",
    "encode_keepalive",
    "encode_ps_pdu",
    "keepalive_response",
    "kind_of",
    "read_header",
    "scan",
]
