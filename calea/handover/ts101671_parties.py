"""Parties, locations and network addresses of an HI2 IRI, as JSON-ready metadata.

Input values have pycrate's shape (see `ts101671_asn1`); each function accepts the
shapes of TS 101 671 `HI2Operations` and of the 3GPP TS 33.108 modules (which reuse the
same component names) and ignores components it does not know.  Octets that are not
numbers or identities are reported as hex, never interpreted as text they may not be.

Keypad digits: a DSS1 "Keypad facility" information element (identifier 0x2C, EN 300
403-1 4.5.18) in a party's DSS1 parameters carries digits the party keyed.  They are
collected separately (`PartyDigits`) so that the caller can decide whether they are
dialling (call-identifying) or post-cut-through digits (content, rule A6).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Callable, Iterable

from calea.handover import ts101671_numbers as num

KEYPAD_FACILITY = 0x2C


def text(value: Any) -> str:
    """Octets that the standard says are characters (URIs, ASCII identifiers)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def choice(value: Any) -> tuple[str, Any]:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return value[0], value[1]
    return "", value


def ip_address(value: Any) -> dict[str, Any]:
    """An `IPAddress` SEQUENCE (HI2Operations) as text."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, Any] = {}
    form, raw = choice(value.get("iP-value"))
    if form == "iPBinaryAddress" and isinstance(raw, bytes) and len(raw) in (4, 16):
        out["address"] = str(ipaddress.ip_address(raw))
    elif form == "iPTextAddress":
        out["address"] = text(raw)
    elif isinstance(raw, bytes):
        out["hex"] = raw.hex()
    if "iP-assignment" in value:
        out["assignment"] = str(value["iP-assignment"])
    if "iPv6PrefixLength" in value:
        out["prefix_length"] = value["iPv6PrefixLength"]
    mask = value.get("iPv4SubnetMask")
    if isinstance(mask, bytes) and len(mask) == 4:
        out["subnet_mask"] = str(ipaddress.ip_address(mask))
    return out


def data_node_address(value: Any) -> dict[str, Any]:
    form, inner = choice(value)
    if form == "ipAddress":
        return ip_address(inner)
    if form == "x25Address" and isinstance(inner, bytes):
        return {"x25": inner.hex()}
    return {}


def network_element(value: Any) -> dict[str, Any]:
    """`Network-Element-Identifier` CHOICE."""
    form, inner = choice(value)
    if form == "e164-Format" and isinstance(inner, bytes):
        return {"e164": num.isup_number(inner, calling=True)}
    if form == "iP-Address":
        return {"ip": ip_address(inner)}
    if form == "iP-Format" and isinstance(inner, bytes):
        if len(inner) in (4, 16):
            return {"ip": {"address": str(ipaddress.ip_address(inner))}}
        return {"ip": {"address": text(inner)}}
    if form in ("x25-Format", "dNS-Format") and isinstance(inner, bytes):
        return {form.split("-")[0].lower(): text(inner)}
    return {}


def network_identifier(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    out: dict[str, Any] = {"operator": text(value.get("operator-Identifier", b""))}
    if "network-Element-Identifier" in value:
        out["element"] = network_element(value["network-Element-Identifier"])
    return out


def element_key(element: dict[str, Any]) -> str:
    """A compact, stable text of a network element (for correlation keys)."""
    if "e164" in element:
        return str(element["e164"].get("digits", ""))
    if "ip" in element:
        return str(element["ip"].get("address", ""))
    for key in ("x25", "dns"):
        if key in element:
            return str(element[key])
    return ""


def communication_identifier(value: Any) -> tuple[dict[str, Any], str | None]:
    """(metadata, correlation key) of a `CommunicationIdentifier`.

    The key is `operator:element:number`: the communication-Identity-Number is unique
    only within its network node (TS 101 671 A.4.1), so the node is part of the key."""
    if not isinstance(value, dict):
        return {}, None
    out = network_identifier(value.get("network-Identifier"))
    number = value.get("communication-Identity-Number")
    if not isinstance(number, bytes):
        return out, None
    out["number"] = text(number)
    key = f"{out.get('operator', '')}:{element_key(out.get('element', {}))}:{out['number']}"
    return out, key


# --- parties ----------------------------------------------------------------------------


class PartyDigits:
    """Keypad digits found in party information, kept apart from the metadata."""

    def __init__(self) -> None:
        self.keypad: list[str] = []


def _dss1_elements(params: Any, digits: PartyDigits, out: dict[str, Any]) -> None:
    if not isinstance(params, (list, tuple)):
        return
    for element in params:
        if not isinstance(element, bytes) or len(element) < 2:
            continue
        ident, size = element[0], element[1]
        body = element[2:2 + size]
        if ident == KEYPAD_FACILITY:
            digits.keypad.append(body.decode("ascii", "backslashreplace"))
        elif ident == 0x70:  # called party number as dialled, before network changes
            out["dialled_number"] = num.dss1_number(body, calling=False)


def _services(value: Any, digits: PartyDigits, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        _dss1_elements(value.get("dSS1-parameters-codeset-0"), digits, out)


def _supplementary(value: Any, digits: PartyDigits, out: dict[str, Any]) -> None:
    if not isinstance(value, dict):
        return
    standard = value.get("standard-Supplementary-Services")
    if isinstance(standard, dict):
        _dss1_elements(standard.get("dSS1-SS-parameters-codeset-0"), digits, out)
    indications = []
    for item in value.get("non-Standard-Supplementary-Services") or ():
        form, inner = choice(item)
        if form == "simpleIndication":
            indications.append(str(inner))
        elif form == "sciData" and isinstance(inner, bytes):
            out.setdefault("sci_data", []).append(inner.hex())
    if indications:
        out["indications"] = indications


def _gprs(value: Any, out: dict[str, Any]) -> None:
    if not isinstance(value, dict):
        return
    gprs = value.get("gPRS-parameters")
    if not isinstance(gprs, dict):
        return
    if "pDP-address-allocated-to-the-target" in gprs:
        out["pdp_address"] = data_node_address(gprs["pDP-address-allocated-to-the-target"])
    apn = gprs.get("aPN")
    if isinstance(apn, bytes):
        out["apn"] = apn_text(apn)


def apn_text(raw: bytes) -> str:
    """APN (TS 23.003 9.1): length-prefixed labels joined by dots."""
    labels, pos = [], 0
    while pos < len(raw):
        size = raw[pos]
        labels.append(raw[pos + 1:pos + 1 + size].decode("ascii", "backslashreplace"))
        pos += 1 + size
    return ".".join(labels)


_IDENTITY: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "imei": ("imei", num.tbcd_digits),
    "imsi": ("imsi", num.tbcd_digits),
    "msISDN": ("msisdn", num.map_address),
    "callingPartyNumber": ("calling_number", lambda v: num.party_number(v, calling=True)),
    "calledPartyNumber": ("called_number", lambda v: num.party_number(v, calling=False)),
    "e164-Format": ("e164_number", lambda v: num.isup_number(v, calling=True)),
    "sip-uri": ("sip_uri", text),
    "tel-url": ("tel_uri", text),
    "tel-uri": ("tel_uri", text),
    "x-3GPP-Asserted-Identity": ("asserted_identity", text),
    "xUI": ("xui", text),
    "tei": ("tei", bytes.hex),
    "party-Validity": ("validity", str),
    "alphanumeric": ("alphanumeric", str),
}


def party(value: Any, digits: PartyDigits) -> dict[str, Any]:
    """One `PartyInformation`."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, Any] = {"qualifier": str(value.get("party-Qualifier", ""))}
    ident = value.get("partyIdentity")
    if isinstance(ident, dict):
        for name, item in ident.items():
            spec = _IDENTITY.get(name)
            if spec is not None:
                out[spec[0]] = spec[1](item)
    if len(value) > 2:
        _services(value.get("services-Information"), digits, out)
        _supplementary(value.get("supplementary-Services-Information"), digits, out)
        _gprs(value.get("services-Data-Information"), out)
    return out


def parties(values: Iterable[Any], digits: PartyDigits) -> list[dict[str, Any]]:
    return [party(v, digits) for v in values]


# --- location ---------------------------------------------------------------------------


def _geographical(value: Any) -> dict[str, Any]:
    """`GeographicalCoordinates` (TS 23.032 point): 23-bit latitude, 24-bit longitude."""
    if not isinstance(value, dict):
        return {}
    coords = value.get("geographicalCoordinates", value)
    if not isinstance(coords, dict) or "latitude" not in coords:
        return {}
    lat = coords["latitude"] * 90 / (1 << 23)
    if coords.get("latitudeSign") == "south":
        lat = -lat
    out = {"latitude": round(lat, 7), "longitude": round(coords.get("longitude", 0) * 360 / (1 << 24), 7)}
    if "uncertaintyCode" in value:
        out["uncertainty_code"] = value["uncertaintyCode"]
    return out


def _gsm_location(value: Any) -> dict[str, Any]:
    form, inner = choice(value)
    if not isinstance(inner, dict):
        return {"wgs84_hex": inner.hex()} if isinstance(inner, bytes) else {}
    out: dict[str, Any] = {"datum": str(inner.get("mapDatum", "wGS84"))}
    if form == "geoCoordinates":
        out["latitude"] = num.geo_degrees(str(inner.get("latitude", "")))
        out["longitude"] = num.geo_degrees(str(inner.get("longitude", "")))
    elif form == "utmCoordinates":
        out["utm"] = f"{inner.get('utm-East', '')} {inner.get('utm-North', '')}"
    elif form == "utmRefCoordinates":
        out["utm_ref"] = str(inner.get("utmref-string", ""))
    if "azimuth" in inner:
        out["azimuth"] = inner["azimuth"]
    return out


def _umts_location(value: Any) -> dict[str, Any]:
    form, inner = choice(value)
    if form == "polygon" and isinstance(inner, list):
        return {"polygon": [_geographical(p) for p in inner]}
    return _geographical(inner)


_AREAS = {"globalCellID": ("cell", num.global_cell_id), "rAI": ("routing_area", num.routing_area),
          "oldRAI": ("old_routing_area", num.routing_area), "sAI": ("service_area", num.service_area),
          "tAI": ("tracking_area", num.tracking_area), "eCGI": ("e_utran_cell", num.e_utran_cell)}


def location(value: Any) -> dict[str, Any]:
    """A `Location` SEQUENCE (TS 101 671 or TS 33.108 shape)."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, Any] = {}
    for name, item in value.items():
        if name in _AREAS and isinstance(item, bytes):
            key, parse = _AREAS[name]
            out[key] = {**parse(item), "hex": item.hex()}
        elif name == "e164-Number" and isinstance(item, bytes):
            out["location_number"] = num.isup_number(item, calling=True)
        elif name == "gsmLocation":
            out["geo"] = _gsm_location(item)
        elif name == "umtsLocation":
            out["geo"] = _umts_location(item)
        elif name == "tetraLocation":
            form, inner = choice(item)
            out["tetra"] = dict(inner) if isinstance(inner, dict) else {"ls": inner}
    return out
