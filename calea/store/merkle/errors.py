"""The one exception hierarchy of the Merkle log package.

    MerkleError            base class; never raised itself
    ├── UsageError         the caller misused the API (index past the tree size, bad hash length)
    ├── ProofError         an inclusion or consistency proof does not verify, or is malformed
    ├── CheckpointError    a checkpoint is malformed, or its signatures do not verify
    ├── KeyFileError       a signing-key file or directory is missing, malformed or unsafe
    └── StorageError       stored tiles or log state are missing or corrupt

`UsageError` is "you called us wrong" (fix the caller); every other error is "the data is
wrong" (investigate: it may be tampering).  Each error carries a short machine-readable
`reason` (e.g. ``"root-mismatch"``, ``"bad-signature"``, ``"unsafe-permissions"``) beside its
human-readable message; neither ever contains intercepted content, only sizes, indices,
key ids and hashes.
"""

from __future__ import annotations


class MerkleError(Exception):
    """Base of every error raised by `calea.store.merkle`."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reason={self.reason!r}, message={self.message!r})"


class UsageError(MerkleError, ValueError):
    """The caller passed arguments the API does not accept."""


class ProofError(MerkleError):
    """A proof failed verification (or could not be parsed as one)."""


class CheckpointError(MerkleError):
    """A checkpoint (signed tree head) is malformed or not validly signed."""


class KeyFileError(MerkleError):
    """A key file or key directory is missing, malformed, or has unsafe permissions."""


class StorageError(MerkleError):
    """Tiles or log state in the tile store are missing or inconsistent."""
