"""Types and value names of ETSI TS 102 232-1/-3/-5 shared by the decoder and encoder.

SPEC: ETSI TS 102 232-1 (LI-PS-PDU), -3 (IP access: IPIRI, IPCC), -5 (IP multimedia:
IPMMIRI, IPMMCC).  Enumerated values are named with the ASN.1 identifiers of the
standards, except the IRI type, which is "begin" / "end" / "continue" / "report".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, NamedTuple, Union

from calea.handover.ber import from_epoch_us
from calea.handover.model import RecordKind

LI_PS_DOMAIN_ID = "0.4.0.2.2.5.1.17"  # the PS domain id OpenLI writes
IPIRI_OID = "5.3.10.1"  # relative to the TS 102 232-3 module root
IPCC_OID = "5.3.10.2"
IPMMIRI_OID = "5.5.6.1"  # relative to the TS 102 232-5 module root
IPMMCC_OID = "5.5.6.2"

MICROSECOND_TIMESTAMP = "microSecondTimeStamp"
GENERALIZED_TIMESTAMP = "timeStamp"


class PSHeader(NamedTuple):
    """The decoded PSHeader plus the payload kind.

    A NamedTuple rather than a frozen dataclass: one is built per received record on the
    hot path, and a NamedTuple is about 4x cheaper to build (immutable all the same).
    `timestamp_us` is microseconds since the Unix epoch (UTC) of the carrier's stamp;
    `timestamp_field` names the element that carried it (`microSecondTimeStamp` [7] or
    the GeneralizedTime `timeStamp` [5]).  For encoding, `kind` may be None (it follows
    from the payload).
    """

    liid: str
    sequence: int
    kind: RecordKind | None = None
    cin: int | None = None
    operator_id: str | None = None
    network_element_id: str | None = None
    authorization_country_code: str | None = None
    delivery_country_code: str | None = None
    interception_point_id: str | None = None
    timestamp_us: int | None = None
    timestamp_field: str = MICROSECOND_TIMESTAMP
    timestamp_qualifier: int | None = None

    @property
    def timestamp(self) -> datetime | None:
        """The carrier's stamp as an aware UTC datetime (rule A8)."""
        return None if self.timestamp_us is None else from_epoch_us(self.timestamp_us)


# --- enumerations (value -> name) -------------------------------------------------------

IRI_TYPES = {1: "begin", 2: "end", 3: "continue", 4: "report"}
DIRECTIONS = {0: "fromTarget", 1: "toTarget", 2: "indeterminate", 3: "combined", 4: "notApplicable"}
TIMESTAMP_QUALIFIERS = {0: "unknown", 1: "timeOfInterception", 2: "timeOfMediation", 3: "timeOfAggregation"}
FRAME_TYPES = {
    0: "ipFrame", 1: "udpFrame", 2: "rtpFrame", 3: "audioFrame",
    4: "tcpFrame", 5: "artificialRtpFrame", 6: "udptlFrame",
}
MMCC_PROTOCOLS = {0: "rTP", 1: "mSRP", 2: "uDPTL"}
CHECK_TYPES = {1: "hash", 2: "signature"}
DATA_TYPES = {1: "iRI", 2: "cC"}
HASH_ALGORITHMS = {1: "sHA-1", 2: "sHA-256", 3: "sHA-384", 4: "sHA-512"}
IP_TYPES = {0: "IPv4", 1: "IPv6"}
IP_ASSIGNMENTS = {1: "static", 2: "dynamic", 3: "notKnown"}
ACCESS_EVENT_TYPES = {
    0: "accessAttempt", 1: "accessAccept", 2: "accessReject", 3: "accessFailed",
    4: "sessionStart", 5: "sessionEnd", 6: "interimUpdate",
    7: "startOfInterceptionWithSessionActive", 8: "accessEnd",
    9: "endOfInterceptionWithSessionActive", 10: "unknown",
}
INTERNET_ACCESS_TYPES = {
    0: "undefined", 1: "dialUp", 2: "xDSL", 3: "cableModem", 4: "lAN", 5: "wirelessLAN",
    6: "fiber", 7: "wIMAX", 8: "satellite", 9: "wirelessOther",
}
IP_VERSIONS = {1: "iPV4", 2: "iPV6", 3: "iPV4andV6"}
END_REASONS = {0: "undefined", 1: "regularLogOff", 2: "connectionLoss", 3: "connectionTimeOut", 4: "leaseExpired"}
AUTHENTICATION_TYPES = {0: "unknown", 1: "static", 2: "radiusAAA", 3: "dhcpAAA", 4: "diameterAAA"}
TRI_PAYLOADS = {
    0: "integrityCheck", 1: "testPDU", 2: "paddingPDU", 3: "keep-alive",
    4: "keep-aliveResponse", 5: "firstSegmentFlag", 6: "lastSegmentFlag", 7: "cINReset",
    8: "operatorLeaMessage", 9: "optionRequest", 10: "optionResponse",
    11: "optionComplete", 12: "pDUAcknowledgementRequest", 13: "pDUAcknowledgementResponse",
}
PAYLOADS = {0: "iRIPayloadSequence", 1: "cCPayloadSequence", 2: "tRIPayload",
            3: "hI1-Operation", 4: "encryptionContainer"}

# IPIRIContents (TS 102 232-3): tag number -> (ASN.1 identifier, codec, enumeration).
# Codecs: enum, text (UTF8String / textual OCTET STRING), int, time (GeneralizedTime),
# ip (IPAddress), hex (opaque OCTET STRING), popid (IPIRIIDType CHOICE).
IPIRI_FIELDS: dict[int, tuple[str, str, Mapping[int, str] | None]] = {
    0: ("accessEventType", "enum", ACCESS_EVENT_TYPES),
    1: ("targetUsername", "text", None),
    2: ("internetAccessType", "enum", INTERNET_ACCESS_TYPES),
    3: ("iPVersion", "enum", IP_VERSIONS),
    4: ("targetIPAddress", "ip", None),
    5: ("targetNetworkID", "text", None),
    6: ("targetCPEID", "text", None),
    7: ("targetLocation", "text", None),
    8: ("pOPPortNumber", "int", None),
    9: ("callBackNumber", "text", None),
    10: ("startTime", "time", None),
    11: ("endTime", "time", None),
    12: ("endReason", "enum", END_REASONS),
    13: ("octetsReceived", "int", None),
    14: ("octetsTransmitted", "int", None),
    15: ("rawAAAData", "hex", None),
    16: ("expectedEndTime", "time", None),
    17: ("pOPPhoneNumber", "text", None),
    18: ("pOPIdentifier", "popid", None),
    19: ("pOPIPAddress", "ip", None),
    21: ("additionalIPAddress", "ip", None),
    22: ("authenticationType", "enum", AUTHENTICATION_TYPES),
}
IPIRI_TAGS = {name: tag for tag, (name, _, _) in IPIRI_FIELDS.items()}


def name_of(table: Mapping[int, str], value: int) -> str:
    """The name of an enumerated value; unknown values keep their number visible."""
    return table.get(value) or f"unknown({value})"


def value_of(table: Mapping[int, str], name: str | int) -> int:
    """Inverse of `name_of` for the encoders (an int passes through)."""
    if isinstance(name, int):
        return name
    for value, known in table.items():
        if known == name:
            return value
    if name.startswith("unknown(") and name.endswith(")"):
        return int(name[8:-1])
    raise ValueError(f"unknown enumerated name {name!r}")


def iso(stamp: datetime) -> str:
    """`2025-06-02T14:00:18.000000Z`: how times appear in `fields` (UTC, microseconds)."""
    return (
        f"{stamp.year:04d}-{stamp.month:02d}-{stamp.day:02d}T{stamp.hour:02d}:"
        f"{stamp.minute:02d}:{stamp.second:02d}.{stamp.microsecond:06d}Z"
    )


_ISO_SECONDS: dict[int, str] = {}  # epoch second -> "YYYY-MM-DDTHH:MM:SS" (bounded)


def iso_us(micros: int) -> str:
    """`iso(from_epoch_us(micros))`, cheaply: the text of the second is cached (records of
    a stream share it), only the microseconds are formatted per call."""
    secs, fraction = divmod(micros, 1_000_000)
    prefix = _ISO_SECONDS.get(secs)
    if prefix is None:
        prefix = iso(from_epoch_us(secs * 1_000_000))[:-8]
        if len(_ISO_SECONDS) >= 4096:
            _ISO_SECONDS.clear()
        _ISO_SECONDS[secs] = prefix
    return f"{prefix}.{fraction:06d}Z"


def parse_iso(text: str) -> datetime:
    """Inverse of `iso` (any ISO 8601 text with a zone)."""
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return stamp


# --- payloads for the encoder -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """tRIPayload keep-alive [3] NULL."""


@dataclass(frozen=True, slots=True)
class KeepAliveResponse:
    """tRIPayload keep-alive-response [4] NULL."""


@dataclass(frozen=True, slots=True)
class IPMMIRI:
    """TS 102 232-5 iPMMIRI: a SIP message (`sIPMessage`) or an original IP packet."""

    iri_type: str  # begin / end / continue / report
    sip_content: bytes | None = None
    source_address: str | None = None
    destination_address: str | None = None
    original_ip_packet: bytes | None = None  # originalIPMMMessage instead of sIPMessage


@dataclass(frozen=True, slots=True)
class IPMMCC:
    """TS 102 232-5 iPMMCC: one media frame (OpenLI: a whole IPv4/UDP/RTP packet)."""

    direction: str  # fromTarget / toTarget / indeterminate / ...
    contents: bytes
    frame_type: str = "ipFrame"
    protocol: str | None = "rTP"
    stream_identifier: bytes | None = None


@dataclass(frozen=True, slots=True)
class IPIRI:
    """TS 102 232-3 iPIRI; `contents` has the keys the decoder writes to
    `fields["ip_access"]` (the ASN.1 identifiers of IPIRIContents)."""

    iri_type: str
    contents: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IPCC:
    """TS 102 232-3 iPCC: one intercepted IP packet (`iPPackets`)."""

    direction: str
    packet: bytes


@dataclass(frozen=True, slots=True)
class IntegrityCheck:
    """TS 102 232-1 tRIPayload integrityCheck [0]."""

    included_sequence_numbers: tuple[int, ...]
    check_value: bytes
    check_type: str = "hash"
    data_type: str = "cC"
    hash_algorithm: str | None = "sHA-256"


Payload = Union[KeepAlive, KeepAliveResponse, IPMMIRI, IPMMCC, IPIRI, IPCC, IntegrityCheck]
