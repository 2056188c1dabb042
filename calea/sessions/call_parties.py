"""Parties of a call: numbers normalised to E.164 where possible, and who the target is.

Pure.  A party arrives as text in many shapes -- `sip:+12125550100@example.net;user=phone`,
`tel:+1-212-555-0100`, an ISUP number already in E.164, a PacketCable directory number
`12125550100` -- and is reported as `+<digits>` when it is a telephone number, else as
the normalised URI (lower-case scheme and host, no parameters), else as given.

Interpretation: national numbers without a country code are read in the North American
Numbering Plan (the deployment is in the United States): 10 digits `NXX NXX XXXX` get `+1`,
11 digits starting with 1 get `+`; `00` and `011` are international prefixes.  Anything
else without `+` is not guessed at.

`TargetIdentity` holds an intercept's identifiers (rule A7) and tells whether a party
of a call is the target: comparing parties with them decides whether a call is outgoing
(pen register: numbers dialed by the target) or incoming (trap and trace: numbers calling
the target), rule A1.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[\s\-().]")
_NANP = re.compile(r"^[2-9]\d{2}[2-9]\d{6}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def user_part(uri: str) -> str:
    """`sip:+1212@host;x` -> `+1212`; `tel:+1-212;phone-context=x` -> `+1-212`."""
    text = uri.strip().strip("<>")
    scheme, sep, rest = text.partition(":")
    if sep and scheme.lower() in ("sip", "sips", "tel"):
        text = rest
    return text.split("@", 1)[0].split(";", 1)[0]


def e164(raw: str | None) -> str | None:
    """The E.164 form (`+<digits>`) of a number or of a SIP/tel URI's user part, or None."""
    if not raw:
        return None
    digits = _SEPARATORS.sub("", user_part(str(raw)))
    if digits.startswith("+"):
        return digits if _E164.match(digits) else None
    if not digits.isdigit():
        return None
    if digits.startswith("011"):
        digits = digits[3:]
    elif digits.startswith("00"):
        digits = digits[2:]
    elif _NANP.match(digits):
        digits = "1" + digits
    elif not (len(digits) == 11 and digits[0] == "1" and _NANP.match(digits[1:])):
        return None
    candidate = "+" + digits
    return candidate if _E164.match(candidate) else None


def normal_uri(raw: str) -> str:
    """`<SIP:Alice@Example.NET:5060;transport=udp>` -> `sip:alice@example.net` (host lower-case,
    port and parameters dropped; the user part keeps its case except for a number)."""
    text = raw.strip().strip("<>")
    scheme, sep, rest = text.partition(":")
    if not sep or scheme.lower() not in ("sip", "sips", "tel"):
        return text
    rest = rest.split(";", 1)[0]
    user, at, host = rest.rpartition("@")
    if not at:
        return f"{scheme.lower()}:{rest}"
    host = host.split(":", 1)[0].lower()
    return f"{scheme.lower()}:{user}@{host}"


def party(raw: str | None) -> str | None:
    """How a party is reported: E.164 when it is a telephone number, else the URI."""
    if raw is None or not str(raw).strip():
        return None
    return e164(raw) or normal_uri(str(raw))


@dataclass(frozen=True)
class TargetIdentity:
    """What identifies the target in call records (from the intercept's identifiers)."""

    numbers: frozenset[str] = frozenset()
    uris: frozenset[str] = frozenset()
    subscriber_ids: frozenset[str] = frozenset()  # IMSI, IMEI

    @classmethod
    def of(cls, identifiers: Iterable[Mapping[str, str]]) -> TargetIdentity:
        numbers, uris, ids = set(), set(), set()
        for item in identifiers:
            kind, value = str(item.get("kind", "")), str(item.get("value", ""))
            if kind == "e164":
                numbers.add(e164(value) or value)
            elif kind == "sip_uri":
                uris.add(normal_uri(value).lower())
                number = e164(value)
                if number:
                    numbers.add(number)
            elif kind in ("imsi", "imei"):
                ids.add(value)
        return cls(frozenset(numbers), frozenset(uris), frozenset(ids))

    def matches(self, *values: str | None) -> bool:
        """Whether any of `values` (number, URI, IMSI/IMEI digits) is the target."""
        for value in values:
            if not value:
                continue
            text = str(value)
            if text in self.subscriber_ids:
                return True
            number = e164(text)
            if number is not None and number in self.numbers:
                return True
            if normal_uri(text).lower() in self.uris:
                return True
        return False
