"""Rule A7: identifiers are validated and normalised so the same target compares equal."""

from __future__ import annotations

import pytest

from calea.domain.identifiers import Identifier, IdentifierKind, identifier_matches, parse_identifier
from calea.errors import InvalidInput


@pytest.mark.parametrize(
    "kind, raw, normal",
    [
        ("e164", "+1 (212) 555-0100", "+12125550100"),
        ("e164", "0012125550100", "+12125550100"),
        ("imsi", "310150123456789", "310150123456789"),
        ("imei", "490154203237518", "49015420323751"),  # Luhn-valid 15 digits -> 14-digit IMEI
        ("imei", "4901542032375101", "4901542032375101"),  # IMEISV
        ("sip_uri", "SIP:+12125550100@Example.NET", "sip:+12125550100@example.net"),
        ("ip", "198.51.100.7", "198.51.100.7"),
        ("ip", "198.51.100.9/24", "198.51.100.0/24"),
        ("ip", "2001:DB8::1", "2001:db8::1"),
        ("url", "WWW.Example.com/login", "http://www.example.com/login"),
        ("url", "https://Example.com", "https://example.com/"),
        ("email", "Target@Example.COM", "Target@example.com"),
    ],
)
def test_valid_identifiers_normalised(kind: str, raw: str, normal: str) -> None:
    assert parse_identifier(kind, raw) == Identifier(IdentifierKind(kind), normal)


@pytest.mark.parametrize(
    "kind, raw",
    [
        ("e164", "555-0100"),
        ("e164", "+0123456789"),
        ("imsi", "31015012345"),
        ("imei", "490154203237519"),  # bad check digit
        ("sip_uri", "tel:+12125550100"),
        ("ip", "300.1.1.1"),
        ("url", "ftp://example.com/"),
        ("email", "not-an-address"),
        ("fax", "+12125550100"),
        ("e164", ""),
    ],
)
def test_invalid_identifiers_refused(kind: str, raw: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_identifier(kind, raw)
    assert exc.value.rule == "A7"


def test_matching() -> None:
    net = parse_identifier("ip", "198.51.100.0/24")
    assert identifier_matches(net, parse_identifier("ip", "198.51.100.77"))
    assert not identifier_matches(net, parse_identifier("ip", "203.0.113.5"))
    site = parse_identifier("url", "http://www.example.com/")
    assert identifier_matches(site, parse_identifier("url", "http://www.example.com/path/page"))
    assert not identifier_matches(site, parse_identifier("url", "http://evil.example.org/"))
    phone = parse_identifier("e164", "+12125550100")
    assert identifier_matches(phone, parse_identifier("e164", "+1 212 555 0100"))
    assert not identifier_matches(phone, parse_identifier("e164", "+12125550101"))
