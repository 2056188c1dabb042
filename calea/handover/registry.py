"""One entry per handover format: how to split a stream and decode one record.

Every decoder is `record bytes -> list[Delivery]` and raises only `MalformedRecord`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from calea.handover.etsi102232 import decode
from calea.handover.model import Channel, Delivery

Decoder = Callable[[bytes, Channel], list[Delivery]]


def _etsi(record: bytes, channel: Channel) -> list[Delivery]:
    return [decode(record, channel)]


def _ts101671(record: bytes, channel: Channel) -> list[Delivery]:
    from calea.handover.ts101671 import decode

    return decode(record)


def _pcesp_cdc(record: bytes, channel: Channel) -> list[Delivery]:
    from calea.handover import pcesp

    out = pcesp.decode_cdc(record)
    return out if isinstance(out, list) else [out]


def _mms(record: bytes, channel: Channel) -> list[Delivery]:
    from calea.handover import mms

    return mms.decode(record, channel)


@dataclass(frozen=True)
class Format:
    name: str
    decode: Decoder
    transport: str  # "tcp" (BER records split by outer length) or "udp" (datagrams)
    description: str


FORMATS: dict[str, Format] = {
    "etsi-102232": Format("etsi-102232", _etsi, "tcp", "ETSI TS 102 232-1 PS-PDU (-3 IP access, -5 IP multimedia)"),
    "ts101671-hi2": Format("ts101671-hi2", _ts101671, "tcp", "ETSI TS 101 671 / 3GPP TS 33.108 HI2 IRI"),
    "pcesp": Format("pcesp", _pcesp_cdc, "tcp", "PacketCable Electronic Surveillance CDC messages"),
    "3gpp-mms": Format("3gpp-mms", _mms, "tcp", "3GPP TS 33.108 MMS HI2 IRI and HI3 CC-PDU"),
}


def decode_ccc(datagram: bytes, ccc_to_liid: dict[int, str], received_at: datetime) -> Delivery:
    from calea.handover import pcesp_ccc

    return pcesp_ccc.decode_ccc(datagram, ccc_to_liid, received_at)
