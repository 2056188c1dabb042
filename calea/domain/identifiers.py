"""Identifiers an authority names and an intercept targets (rule A7).

Each kind is validated and normalised so that the same target always compares equal:
E.164 numbers as `+<digits>`, IMSI (15 digits), IMEI (14 digits + Luhn check digit, or
16-digit IMEISV), SIP URIs lower-cased in scheme and host, IP addresses and CIDR ranges in
canonical form, URLs with lower-cased scheme and host, e-mail with a lower-cased domain.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from calea.errors import InvalidInput


class IdentifierKind(str, enum.Enum):
    E164 = "e164"
    IMSI = "imsi"
    IMEI = "imei"
    SIP_URI = "sip_uri"
    IP = "ip"  # an address or a CIDR range
    URL = "url"  # a queried web address (PRTT: who visits it, rule A1)
    EMAIL = "email"


@dataclass(frozen=True, slots=True, order=True)
class Identifier:
    kind: IdentifierKind
    value: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.value}"

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "value": self.value}


_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_DIGITS = re.compile(r"^\d+$")
_SIP = re.compile(r"^(sips?):([^@\s]+@)?([A-Za-z0-9.\-\[\]:]+)(;[^\s]*)?$", re.I)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.\-]{1,253}\.[A-Za-z]{2,63}$")


def _bad(kind: IdentifierKind, value: str, why: str) -> InvalidInput:
    return InvalidInput(f"invalid {kind.value} identifier {value!r}: {why}", rule="A7", field="identifiers")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def normalise_e164(raw: str) -> str:
    cleaned = re.sub(r"[\s\-().]", "", raw)
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if not _E164.match(cleaned):
        raise _bad(IdentifierKind.E164, raw, "expected + and 7 to 15 digits, country code first")
    return cleaned


def parse_identifier(kind: str | IdentifierKind, raw: str) -> Identifier:
    """Validate and normalise one identifier; raises InvalidInput naming rule A7."""
    try:
        k = IdentifierKind(kind)
    except ValueError:
        raise InvalidInput(
            f"unknown identifier kind {kind!r}; one of {', '.join(x.value for x in IdentifierKind)}",
            rule="A7",
            field="identifiers",
        ) from None
    value = (raw or "").strip()
    if not value:
        raise _bad(k, raw, "empty")
    if k is IdentifierKind.E164:
        return Identifier(k, normalise_e164(value))
    if k is IdentifierKind.IMSI:
        if not _DIGITS.match(value) or not 14 <= len(value) <= 15:
            raise _bad(k, raw, "expected 14 or 15 digits")
        return Identifier(k, value)
    if k is IdentifierKind.IMEI:
        digits = re.sub(r"[\s\-/]", "", value)
        if not _DIGITS.match(digits) or len(digits) not in (14, 15, 16):
            raise _bad(k, raw, "expected 14 digits, 15 with check digit, or a 16-digit IMEISV")
        if len(digits) == 15 and not luhn_ok(digits):
            raise _bad(k, raw, "check digit does not match (Luhn)")
        return Identifier(k, digits[:14] if len(digits) == 15 else digits)
    if k is IdentifierKind.SIP_URI:
        m = _SIP.match(value)
        if not m:
            raise _bad(k, raw, "expected sip:user@host or sips:user@host")
        scheme, user, host, params = m.groups()
        return Identifier(k, f"{scheme.lower()}:{user or ''}{host.lower()}{params or ''}")
    if k is IdentifierKind.IP:
        try:
            if "/" in value:
                net = ipaddress.ip_network(value, strict=False)
                return Identifier(k, str(net) if net.num_addresses > 1 else str(net.network_address))
            return Identifier(k, str(ipaddress.ip_address(value)))
        except ValueError as exc:
            raise _bad(k, raw, str(exc)) from None
    if k is IdentifierKind.URL:
        parts = urlsplit(value if "://" in value else "http://" + value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise _bad(k, raw, "expected an http(s) web address with a host")
        netloc = parts.hostname.lower() + (f":{parts.port}" if parts.port else "")
        return Identifier(k, urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, "")))
    # e-mail
    if not _EMAIL.match(value):
        raise _bad(k, raw, "expected local@domain")
    local, domain = value.rsplit("@", 1)
    return Identifier(k, f"{local}@{domain.lower()}")


def parse_identifier_dict(item: object) -> Identifier:
    if not isinstance(item, dict) or "kind" not in item or "value" not in item:
        raise InvalidInput("an identifier is an object {kind, value}", rule="A7", field="identifiers")
    return parse_identifier(str(item["kind"]), str(item["value"]))


def identifier_matches(named: Identifier, observed: Identifier) -> bool:
    """Whether an identifier named by an authority covers one observed in a delivery (A7).

    Identical identifiers match; an IP range covers the addresses inside it; a URL
    covers the same host and a path under it.
    """
    if named == observed:
        return True
    if named.kind is not observed.kind:
        return False
    if named.kind is IdentifierKind.IP:
        try:
            net = ipaddress.ip_network(named.value, strict=False)
            if "/" in observed.value:
                return ipaddress.ip_network(observed.value, strict=False).subnet_of(net)  # type: ignore[arg-type]
            return ipaddress.ip_address(observed.value) in net
        except (ValueError, TypeError):
            return False
    if named.kind is IdentifierKind.URL:
        a, b = urlsplit(named.value), urlsplit(observed.value)
        return a.hostname == b.hostname and (b.path or "/").startswith(a.path or "/")
    return False
