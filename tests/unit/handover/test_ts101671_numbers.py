"""Numbers, identities and cell ids of the HI2 IRI (TBCD, ISUP, DSS1, MAP, PLMN)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calea.handover import ts101671_numbers as num

# (octets, digits): TS 29.002 TBCD-STRING, low nibble first, 0xF filler.
TBCD_TABLE = [
    ("21436587", "12345678"),
    ("214365f7", "1234567"),  # filler ends the string
    ("f0", "0"),
    ("0a", "*0"),  # 0xA = '*'
    ("b1", "1#"),  # 0xB = '#'
    ("dc", "ab"),  # 0xC = 'a', 0xD = 'b'
    ("1e", "c1"),  # 0xE = 'c'
    ("62021032547698f0", "262001234567890"),  # an IMSI
    ("", ""),
]


@pytest.mark.parametrize(("octets", "digits"), TBCD_TABLE)
def test_tbcd_table(octets: str, digits: str) -> None:
    assert num.tbcd_digits(bytes.fromhex(octets)) == digits


@given(st.text(alphabet="0123456789*#abc", max_size=20))
@settings(max_examples=200, deadline=None)
def test_tbcd_round_trip(digits: str) -> None:
    assert num.tbcd_digits(num.encode_tbcd(digits)) == digits


ISUP_TABLE = [
    # calling number: odd, international, ISDN, presentation allowed, network provided
    ("8413" "214365870900", True,
     {"digits": "12345678900", "nature": "international", "plan": "isdn", "presentation": "allowed",
      "screening": "network-provided", "e164": "+12345678900", "format": "isup"}),
    # calling number: even, national, presentation restricted, user provided not verified
    ("0314" "2143", True,
     {"digits": "1234", "nature": "national", "plan": "isdn", "presentation": "restricted",
      "screening": "user-provided-not-verified", "format": "isup"}),
    # called number: even count, ST (0xF) ends the digits
    ("0410" "21f3", False, {"digits": "123", "nature": "international", "plan": "isdn", "e164": "+123",
                            "format": "isup"}),
    # called number: odd count, the last high nibble is a filler
    ("8410" "2103", False, {"digits": "123", "nature": "international", "plan": "isdn", "e164": "+123",
                            "format": "isup"}),
    # code 11 / code 12 kept as hex letters
    ("0210" "b1c2", False, {"digits": "1B2C", "nature": "unknown", "plan": "isdn", "format": "isup"}),
]


@pytest.mark.parametrize(("octets", "calling", "expected"), ISUP_TABLE)
def test_isup_numbers(octets: str, calling: bool, expected: dict[str, str]) -> None:
    assert num.isup_number(bytes.fromhex(octets), calling) == expected


@given(st.text(alphabet="0123456789", min_size=1, max_size=20), st.booleans())
@settings(max_examples=200, deadline=None)
def test_isup_round_trip(digits: str, calling: bool) -> None:
    info = num.isup_number(num.encode_isup_number(digits, calling=calling), calling)
    assert info["digits"] == digits
    assert info["e164"] == "+" + digits


def test_map_address_msisdn() -> None:
    info = num.map_address(bytes.fromhex("91" "9451214365f7"))
    assert info == {"digits": "49151234567", "nature": "international", "plan": "isdn",
                    "e164": "+49151234567"}
    assert num.map_address(num.encode_map_address("49151234567")) == info
    assert num.map_address(b"") == {"digits": ""}


def test_dss1_numbers() -> None:
    # calling: type international / ISDN, octet 3a presentation allowed + network provided
    assert num.dss1_number(bytes.fromhex("11") + b"\x83" + b"4930123", calling=True) == {
        "format": "dss1", "nature": "international", "plan": "isdn", "presentation": "allowed",
        "screening": "network-provided", "digits": "4930123", "e164": "+4930123"}
    # called: no octet 3a
    assert num.dss1_number(b"\xa1" + b"030123", calling=False) == {
        "format": "dss1", "nature": "national", "plan": "isdn", "digits": "030123"}


def test_party_number_choice() -> None:
    assert num.party_number(("mAP-Format", bytes.fromhex("912143")), calling=True)["digits"] == "1234"
    assert num.party_number(("_ext_0", b"\x01"), calling=True) == {"format": "_ext_0", "digits": "",
                                                                   "hex": "01"}


@pytest.mark.parametrize(("octets", "mcc", "mnc"), [
    ("62f210", "262", "01"),  # two-digit MNC: filler F in MNC digit 3
    ("130062", "310", "260"),  # three-digit MNC
])
def test_plmn(octets: str, mcc: str, mnc: str) -> None:
    assert num.plmn(bytes.fromhex(octets)) == (mcc, mnc)
    assert num.encode_plmn(mcc, mnc) == bytes.fromhex(octets)


def test_cell_and_areas() -> None:
    cgi = num.encode_global_cell_id("262", "01", 0x1234, 0xABCD)
    assert num.global_cell_id(cgi) == {"mcc": "262", "mnc": "01", "lac": 0x1234, "ci": 0xABCD}
    assert num.global_cell_id(cgi[:5]) == {"mcc": "262", "mnc": "01", "lac": 0x1234}
    assert num.global_cell_id(b"\x01") == {"hex": "01"}
    assert num.routing_area(cgi[:5] + b"\x07") == {"mcc": "262", "mnc": "01", "lac": 0x1234, "rac": 7}
    assert num.service_area(cgi) == {"mcc": "262", "mnc": "01", "lac": 0x1234, "sac": 0xABCD}
    assert num.tracking_area(b"\x05" + cgi[:5]) == {"mcc": "262", "mnc": "01", "tac": 0x1234}
    ecgi = b"\x07" + cgi[:3] + bytes.fromhex("f1234567")
    assert num.e_utran_cell(ecgi) == {"mcc": "262", "mnc": "01", "eci": 0x1234567}


def test_duration_cause_and_geo() -> None:
    assert num.bcd_duration(bytes.fromhex("000130")) == 90
    assert num.bcd_duration(bytes.fromhex("01000a")) is None
    assert num.q850_cause(num.encode_q850_cause(16)) == {"coding": 0, "location": 0, "cause": 16}
    assert num.q850_cause(b"\x01") == {"hex": "01"}
    assert num.geo_degrees("N502312") == pytest.approx(50.3866667)
    assert num.geo_degrees("W1122312.18") == pytest.approx(-112.3867167)
    assert num.geo_degrees("X1") is None
    assert num.geo_degrees("N50231") is None


@given(st.floats(-89.9, 89.9), st.floats(-179.9, 179.9))
@settings(max_examples=200, deadline=None)
def test_geo_round_trip(lat: float, lon: float) -> None:
    lat_text, lon_text = num.encode_geo(lat, True), num.encode_geo(lon, False)
    assert 7 <= len(lat_text) <= 10 and 8 <= len(lon_text) <= 11
    assert num.geo_degrees(lat_text) == pytest.approx(lat, abs=1e-5)
    assert num.geo_degrees(lon_text) == pytest.approx(lon, abs=1e-5)
