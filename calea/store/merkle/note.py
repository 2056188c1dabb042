"""Signed notes: text followed by Ed25519 signature lines.

SPEC: https://c2sp.org/signed-note

    <text, one or more lines, each ending in "\\n">
    <blank line>
    — <key name> <base64(key id || signature)>
    ...

- The signature (Ed25519, signature type 0x01) covers the text exactly, final newline
  included.
- key id = first 4 bytes of SHA-256(key name || "\\n" || 0x01 || 32-byte public key).
  The id is derived from the public key, so a rotated key gets a new id under the same
  name, and a verifier holding old and new public keys picks the right one per line.
- A verifier key is written `<name>+<8 hex digits of key id>+<base64(0x01 || public key)>`
  (a "vkey"), one per `.vkey` file in the key directory (see `keys.py`).
- Opening a note: signature lines by keys we do not know are ignored (they may be
  cosignatures by witnesses); a line by a key we know that does not verify is an error;
  at least one known key must have signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from calea.store.merkle.errors import CheckpointError, UsageError

ED25519_TYPE = b"\x01"
SIG_PREFIX = "\u2014 "  # em dash, space
MAX_NOTE_BYTES = 1 << 16
MAX_SIGNATURES = 100


def check_key_name(name: str) -> None:
    """Key names are non-empty and contain no whitespace and no '+'."""
    if not name or "+" in name or any(c.isspace() for c in name):
        raise UsageError(f"bad key name {name!r}", reason="bad-key-name")


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_TYPE + public_key).digest()[:4]


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A named Ed25519 public key, as used to verify note signatures."""

    name: str
    key: bytes  # 32 raw bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.key) != 32:
            raise UsageError("an Ed25519 public key is 32 bytes", reason="bad-public-key")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.key)

    def to_vkey(self) -> str:
        b64 = base64.b64encode(ED25519_TYPE + self.key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{b64}"

    @classmethod
    def from_vkey(cls, vkey: str) -> PublicKey:
        try:
            name, id_hex, b64 = vkey.strip().split("+", 2)
            raw = base64.b64decode(b64, validate=True)
            if raw[:1] != ED25519_TYPE or len(raw) != 33:
                raise ValueError("not an Ed25519 key")
            pub = cls(name, raw[1:])
        except (ValueError, binascii.Error) as exc:  # UsageError is a ValueError
            raise CheckpointError(f"malformed verifier key: {exc}", reason="bad-vkey") from exc
        if id_hex != pub.key_id.hex():
            raise CheckpointError("verifier key id does not match its key", reason="bad-vkey")
        return pub


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A named Ed25519 private key."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @property
    def public_key(self) -> PublicKey:
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return PublicKey(self.name, raw)

    @property
    def key_id(self) -> bytes:
        return self.public_key.key_id

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        return cls(name, Ed25519PrivateKey.generate())


def check_text(text: str) -> None:
    if not text.endswith("\n") or "\n\n" in text or text.startswith("\n"):
        raise CheckpointError(
            "note text must be non-blank lines, each ending in newline", reason="malformed"
        )
    if any((c < " " and c != "\n") or c == "\x7f" for c in text):
        raise CheckpointError("note text contains control characters", reason="malformed")


def sign_note(text: str, keys: Sequence[SigningKey]) -> str:
    """Append one signature line per key to `text`."""
    check_text(text)
    lines = []
    for k in keys:
        sig = k.private_key.sign(text.encode("utf-8"))
        lines.append(f"{SIG_PREFIX}{k.name} {base64.b64encode(k.key_id + sig).decode('ascii')}\n")
    return text + "\n" + "".join(lines)


def open_note(note: str, public_keys: Iterable[PublicKey]) -> tuple[str, tuple[PublicKey, ...]]:
    """Verify a signed note; return its text and the known keys that signed it."""
    if len(note.encode("utf-8")) > MAX_NOTE_BYTES:
        raise CheckpointError("note is too large", reason="malformed")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise CheckpointError("note has no signature block", reason="malformed")
    text, sig_lines = note[: split + 1], note[split + 2 :].splitlines(keepends=True)
    check_text(text)
    if not 0 < len(sig_lines) <= MAX_SIGNATURES:
        raise CheckpointError("note has no (or too many) signature lines", reason="malformed")
    known = {(k.name, k.key_id): k for k in public_keys}
    seen: set[tuple[str, bytes]] = set()
    signed_by: list[PublicKey] = []
    for line in sig_lines:
        name, kid, sig = _parse_sig_line(line)
        if (name, kid) in seen:
            raise CheckpointError(f"duplicate signature by {name}+{kid.hex()}", reason="malformed")
        seen.add((name, kid))
        pub = known.get((name, kid))
        if pub is None:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(pub.key).verify(sig, text.encode("utf-8"))
        except InvalidSignature:
            raise CheckpointError(
                f"bad signature by {name}+{kid.hex()}", reason="bad-signature"
            ) from None
        signed_by.append(pub)
    if not signed_by:
        raise CheckpointError("no signature by a known key", reason="no-known-signature")
    return text, tuple(signed_by)


def _parse_sig_line(line: str) -> tuple[str, bytes, bytes]:
    if not line.startswith(SIG_PREFIX) or not line.endswith("\n"):
        raise CheckpointError("malformed signature line", reason="malformed")
    parts = line[len(SIG_PREFIX) : -1].split(" ")
    if len(parts) != 2 or not parts[0]:
        raise CheckpointError("malformed signature line", reason="malformed")
    try:
        raw = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        raise CheckpointError("signature is not base64", reason="malformed") from None
    if len(raw) < 5:
        raise CheckpointError("signature too short", reason="malformed")
    return parts[0], raw[:4], raw[4:]
