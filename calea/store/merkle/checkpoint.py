"""Checkpoints: signed tree heads, in the C2SP tlog-checkpoint text format.

SPEC: https://c2sp.org/tlog-checkpoint (body), https://c2sp.org/signed-note (signatures)

A checkpoint body is three or more lines, each ending in a newline:

    <origin>                      the log id (one log per case), non-empty
    <tree size>                   ASCII decimal, no leading zeros
    <root hash>                   standard base64 (with padding) of the 32-byte RFC 9162 root
    [<extension line> ...]        optional, non-empty, opaque to this module

It is then signed as a note (see `note.py`): a blank line, then one line per signature,
``— <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>``.  For example:

    calea.example/case/2024-0042
    8
    XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=

    — calea.example rMsBp...(96 base64 characters)...

`verify` accepts a checkpoint when at least one key we know (by name and key id) signed
it and no key we know signed it badly; keys we do not know are ignored, so witness
cosignatures do not break verification, and after a key rotation (`keys.rotate`) old
checkpoints still verify against the retired public key.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

from calea.store.merkle.errors import CheckpointError, UsageError
from calea.store.merkle.hashing import HASH_SIZE
from calea.store.merkle.note import (
    PublicKey,
    SigningKey,
    check_text,
    open_note,
    sign_note,
)

_MAX_SIZE = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """An (origin, tree size, root hash) tree head; signed, it commits the log's contents."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise UsageError("origin must be one non-empty line", reason="bad-checkpoint")
        if not 0 <= self.size <= _MAX_SIZE:
            raise UsageError(f"tree size {self.size} out of range", reason="bad-checkpoint")
        if len(self.root_hash) != HASH_SIZE:
            raise UsageError("root hash must be 32 bytes", reason="bad-checkpoint")
        if any(not e or "\n" in e for e in self.extensions):
            raise UsageError("extension lines must be non-empty lines", reason="bad-checkpoint")

    def to_text(self) -> str:
        """The unsigned body, exactly as it is signed."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions)
        )

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse an unsigned body (strict: rejects anything `to_text` would not produce)."""
        check_text(text)
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint has fewer than 3 lines", reason="malformed")
        origin, size_s, root_s, *extensions = lines
        if not size_s.isascii() or not size_s.isdigit() or (size_s != "0" and size_s[0] == "0"):
            raise CheckpointError(f"bad tree size {size_s!r}", reason="malformed")
        try:
            root = base64.b64decode(root_s, validate=True)
        except binascii.Error:
            raise CheckpointError("root hash is not base64", reason="malformed") from None
        if len(root) != HASH_SIZE or base64.b64encode(root).decode("ascii") != root_s:
            raise CheckpointError(
                "root hash is not 32 bytes in canonical base64", reason="malformed"
            )
        try:
            return cls(origin, int(size_s), root, tuple(extensions))
        except UsageError as exc:
            raise CheckpointError(exc.message, reason="malformed") from None


def sign(checkpoint: Checkpoint, key: SigningKey) -> str:
    """The signed checkpoint text: body, blank line, one signature line."""
    return sign_note(checkpoint.to_text(), [key])


def verify(text: str, public_keys: Iterable[PublicKey], *, origin: str | None = None) -> Checkpoint:
    """Check the signatures on a signed checkpoint and parse it.

    Raises `CheckpointError` (reason ``bad-signature``, ``no-known-signature``,
    ``malformed`` or ``wrong-origin``) unless a known key validly signed it and, when
    `origin` is given, the checkpoint is for that log.
    """
    body, _ = open_note(text, public_keys)
    checkpoint = Checkpoint.from_text(body)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(
            f"checkpoint is for log {checkpoint.origin!r}, not {origin!r}", reason="wrong-origin"
        )
    return checkpoint
