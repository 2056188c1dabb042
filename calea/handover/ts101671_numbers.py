"""Telephone numbers, subscriber identities and cell identities as the HI2 IRI carries them.

Pure functions from octets to JSON-ready values (and back, for the simulator).  Nothing
here raises on odd octets: a number with an unexpected digit code keeps the code as a
hex letter, a short cell identity is reported as hex; the IRI around them stays valid.

Formats (spec clauses beside each function):

* TBCD-STRING (3GPP TS 29.002 17.7.8, IMSI, IMEI, MSISDN digits): two digits per octet,
  the *low* nibble first; 0xA..0xE are `* # a b c`; 0xF is the filler of an odd count.
* MAP AddressString (TS 29.002 17.7.8): octet 1 = ext, nature of address (3 bits),
  numbering plan (4 bits); then TBCD digits.
* ISUP calling / called / location / generic number (ITU-T Q.763 3.9, 3.10, 3.30; ETSI
  EN 300 356): octet 1 = odd/even indicator + nature of address (7 bits); octet 2 =
  NI/INN, numbering plan (3 bits), presentation (2 bits) and screening (2 bits) for the
  calling and location numbers; then BCD digits low nibble first, a filler 0 after an
  odd count; 0xB / 0xC are "code 11" / "code 12", 0xF is ST (end of pulsing).
* DSS1 calling / called party number (ETSI EN 300 403-1 / Q.931 4.5.8, 4.5.10), the value
  part without identifier and length: octet 3 = ext, type of number, numbering plan;
  for the calling number, octet 3a (when ext is 0) = presentation and screening; then the
  digits as IA5 characters.
* PLMN identity (3GPP TS 24.008 10.5.1.3): MCC digit 2|1, MNC digit 3|MCC digit 3,
  MNC digit 2|1 (MNC digit 3 = 0xF for a two-digit MNC).
"""

from __future__ import annotations

from typing import Any

_TBCD = "0123456789*#abc"
_ISUP = "0123456789ABCDE"

MAP_NATURE = {0: "unknown", 1: "international", 2: "national", 3: "network-specific",
              4: "subscriber", 6: "abbreviated"}
ISUP_NATURE = {1: "subscriber", 2: "unknown", 3: "national", 4: "international",
               5: "network-specific", 6: "network-routing-national",
               7: "network-routing-network-specific", 8: "network-routing-concatenated"}
DSS1_TYPE = {0: "unknown", 1: "international", 2: "national", 3: "network-specific",
             4: "subscriber", 6: "abbreviated"}
PLAN = {0: "unknown", 1: "isdn", 3: "data", 4: "telex", 5: "private-isup", 6: "land-mobile",
        8: "national", 9: "private"}
PRESENTATION = {0: "allowed", 1: "restricted", 2: "not-available"}
SCREENING = {0: "user-provided-not-verified", 1: "user-provided-verified-passed",
             2: "user-provided-verified-failed", 3: "network-provided"}


def _names(table: dict[int, str], size: int) -> tuple[str, ...]:
    """Every code of a field of `size` values, unnamed ones as `reserved-<code>`."""
    return tuple(table.get(code, f"reserved-{code}") for code in range(size))


_MAP_NATURE = _names(MAP_NATURE, 8)
_ISUP_NATURE = _names(ISUP_NATURE, 128)
_DSS1_TYPE = _names(DSS1_TYPE, 8)
_PLAN = _names(PLAN, 16)
_PRESENTATION = _names(PRESENTATION, 4)
_SCREENING = _names(SCREENING, 4)


_SWAP = bytes(((o & 0x0F) << 4) | (o >> 4) for o in range(256))
_TBCD_LETTERS = str.maketrans("abcde", "*#abc")


def _nibbles(data: bytes) -> str:
    """Hex digits of `data` with the low nibble of each octet first."""
    return data.translate(_SWAP).hex()


def tbcd_digits(data: bytes) -> str:
    """TBCD-STRING digits: low nibble first, 0xF filler ends the string."""
    digits = _nibbles(data)
    stop = digits.find("f")
    if stop >= 0:
        digits = digits[:stop]
    return digits.translate(_TBCD_LETTERS)


def encode_tbcd(digits: str) -> bytes:
    codes = [_TBCD.index(c) for c in digits.lower()]
    if len(codes) % 2:
        codes.append(0x0F)
    return bytes(codes[i] | (codes[i + 1] << 4) for i in range(0, len(codes), 2))


def _with_e164(info: dict[str, Any], international: bool) -> dict[str, Any]:
    if international:
        digits = info["digits"]
        if digits.isdigit():
            info["e164"] = "+" + digits
    return info


def map_address(data: bytes) -> dict[str, Any]:
    """MAP AddressString / ISDN-AddressString (MSISDN)."""
    if not data:
        return {"digits": ""}
    nature, plan = (data[0] >> 4) & 0x07, data[0] & 0x0F
    info = {"digits": tbcd_digits(data[1:]), "nature": _MAP_NATURE[nature], "plan": _PLAN[plan]}
    return _with_e164(info, nature == 1)


def encode_map_address(digits: str, nature: int = 1, plan: int = 1) -> bytes:
    return bytes((0x80 | (nature << 4) | plan,)) + encode_tbcd(digits)


def _bcd_isup(data: bytes, odd: int) -> str:
    digits = _nibbles(data)
    if odd and digits:
        digits = digits[:-1]
    stop = digits.find("f")  # ST, end of pulsing
    if stop >= 0:
        digits = digits[:stop]
    return digits.upper()


def isup_number(data: bytes, calling: bool = True) -> dict[str, Any]:
    """ISUP calling/location number (`calling=True`) or called party number."""
    if len(data) < 2:
        return {"digits": "", "format": "isup", "hex": data.hex()}
    first, second = data[0], data[1]
    nature = first & 0x7F
    info: dict[str, Any] = {"digits": _bcd_isup(data[2:], first & 0x80), "format": "isup",
                            "nature": _ISUP_NATURE[nature], "plan": _PLAN[(second >> 4) & 0x07]}
    if calling:
        info["presentation"] = _PRESENTATION[(second >> 2) & 0x03]
        info["screening"] = _SCREENING[second & 0x03]
    return _with_e164(info, nature == 4)


def encode_isup_number(digits: str, calling: bool = True, nature: int = 4,
                       presentation: int = 0) -> bytes:
    codes = [_ISUP.index(c) for c in digits.upper()]
    odd = len(codes) % 2
    if odd:
        codes.append(0)
    second = (1 << 4) | ((presentation << 2) | 3 if calling else 0)
    head = bytes(((0x80 if odd else 0) | nature, second))
    return head + bytes(codes[i] | (codes[i + 1] << 4) for i in range(0, len(codes), 2))


def dss1_number(data: bytes, calling: bool = True) -> dict[str, Any]:
    """DSS1 calling / called party number value part (IA5 digits)."""
    if not data:
        return {"digits": "", "format": "dss1"}
    kind, plan = (data[0] >> 4) & 0x07, data[0] & 0x0F
    info: dict[str, Any] = {"format": "dss1", "nature": _DSS1_TYPE[kind], "plan": _PLAN[plan]}
    rest = data[1:]
    if calling and not data[0] & 0x80 and rest:
        info["presentation"] = _PRESENTATION[(rest[0] >> 5) & 0x03]
        info["screening"] = _SCREENING[rest[0] & 0x03]
        rest = rest[1:]
    info["digits"] = rest.decode("ascii", "backslashreplace")
    return _with_e164(info, kind == 1)


def party_number(choice: tuple[str, bytes], calling: bool) -> dict[str, Any]:
    """A CallingPartyNumber / CalledPartyNumber CHOICE value (pycrate shape)."""
    form, data = choice
    if not isinstance(data, bytes):
        return {"format": str(form), "digits": ""}
    if form == "iSUP-Format":
        return isup_number(data, calling)
    if form == "dSS1-Format":
        return dss1_number(data, calling)
    if form == "mAP-Format":
        info = map_address(data)
        info["format"] = "map"
        return info
    return {"format": str(form), "digits": "", "hex": data.hex()}


def plmn(data: bytes) -> tuple[str, str]:
    """(MCC, MNC) of a 3-octet PLMN identity."""
    digits = [data[0] & 0x0F, data[0] >> 4, data[1] & 0x0F, data[2] & 0x0F, data[2] >> 4,
              data[1] >> 4]
    mcc = "".join(_ISUP[d] for d in digits[:3])
    mnc = "".join(_ISUP[d] for d in digits[3:] if d != 0x0F)
    return mcc, mnc


def encode_plmn(mcc: str, mnc: str) -> bytes:
    m = [int(c) for c in mcc]
    n = [int(c) for c in mnc] + ([0x0F] if len(mnc) == 2 else [])
    return bytes((m[0] | m[1] << 4, m[2] | n[2] << 4, n[0] | n[1] << 4))


def _area(data: bytes, names: tuple[str, ...], sizes: tuple[int, ...]) -> dict[str, Any]:
    """PLMN identity followed by big-endian integers of the given sizes."""
    if len(data) < 3 + sum(sizes):
        return {"hex": data.hex()}
    mcc, mnc = plmn(data)
    out: dict[str, Any] = {"mcc": mcc, "mnc": mnc}
    pos = 3
    for name, size in zip(names, sizes):
        out[name] = int.from_bytes(data[pos:pos + size], "big")
        pos += size
    return out


def global_cell_id(data: bytes) -> dict[str, Any]:
    """MAP CellGlobalIdOrServiceAreaIdFixedLength (7 octets) or LAIFixedLength (5)."""
    if len(data) >= 7:
        return _area(data, ("lac", "ci"), (2, 2))
    return _area(data, ("lac",), (2,))


def encode_global_cell_id(mcc: str, mnc: str, lac: int, ci: int) -> bytes:
    return encode_plmn(mcc, mnc) + lac.to_bytes(2, "big") + ci.to_bytes(2, "big")


def routing_area(data: bytes) -> dict[str, Any]:
    """RAI (TS 24.008 10.5.5.15 value part): PLMN, LAC, RAC."""
    return _area(data, ("lac", "rac"), (2, 1))


def service_area(data: bytes) -> dict[str, Any]:
    """SAI (TS 25.413): PLMN, LAC, SAC."""
    return _area(data, ("lac", "sac"), (2, 2))


def tracking_area(data: bytes) -> dict[str, Any]:
    """TAI as the IRI carries it (TS 29.118 IE without its IEI): the first octet is the
    length indicator, then PLMN and TAC; a bare 5-octet TAI is accepted too."""
    body = data[1:] if len(data) == 6 else data
    return _area(body, ("tac",), (2,))


def e_utran_cell(data: bytes) -> dict[str, Any]:
    """E-CGI (TS 29.118 IE without IEI): length octet, PLMN, 28-bit E-UTRAN cell id."""
    body = data[1:] if len(data) == 8 else data
    out = _area(body, ("eci",), (4,))
    if "eci" in out:
        out["eci"] &= 0x0FFFFFFF
    return out


def bcd_duration(data: bytes) -> int | None:
    """Seconds of an `HHMMSS` BCD duration (ringing / conversation duration)."""
    digits = "".join(f"{o >> 4}{o & 0x0F}" for o in data)
    if len(digits) != 6 or not digits.isdigit():
        return None
    return int(digits[0:2]) * 3600 + int(digits[2:4]) * 60 + int(digits[4:6])


def q850_cause(data: bytes) -> dict[str, Any]:
    """Release cause in ITU-T Q.850 format (2 octets): location and cause value."""
    if len(data) != 2:
        return {"hex": data.hex()}
    return {"coding": (data[0] >> 5) & 0x03, "location": data[0] & 0x0F,
            "cause": data[1] & 0x7F}


def encode_q850_cause(cause: int, location: int = 0) -> bytes:
    return bytes((0x80 | location, 0x80 | cause))


def geo_degrees(text: str) -> float | None:
    """`XDDMMSS.SS` / `XDDDMMSS.SS` (TS 101 671 GSMLocation) as signed decimal degrees."""
    if len(text) < 7 or text[0] not in "NSEW":
        return None
    body = text[1:]
    whole = body.split(".")[0]
    width = 3 if text[0] in "EW" else 2
    if len(whole) != width + 4 or not whole.isdigit():
        return None
    try:
        seconds = float(body[width + 2:])
    except ValueError:
        return None
    value = int(body[:width]) + int(body[width:width + 2]) / 60 + seconds / 3600
    return round(-value if text[0] in "SW" else value, 7)


def encode_geo(value: float, latitude: bool) -> str:
    hemi = ("N" if value >= 0 else "S") if latitude else ("E" if value >= 0 else "W")
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    width = 2 if latitude else 3
    return f"{hemi}{degrees:0{width}d}{minutes:02d}{seconds:05.2f}"
