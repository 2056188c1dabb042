"""Errors of the handover codecs.

    HandoverError                 base of everything a handover codec raises
     ├── MalformedRecord          the peer sent garbage (bad BER, bad ETSI structure, too big,
     │                            too deep, truncated); carries a short machine `reason`
     │                            ("ber-length-overflow", "record-too-large", ...), a human
     │                            message and, where known, the byte `offset` of the fault
     └── CodecUsageError          we misused the API (asked for a keep-alive response to a
                                  record that is no keep-alive, fed a splitter past its bound,
                                  gave an encoder an impossible value)

A codec lets no other exception escape for any input bytes: IndexError, ValueError,
UnicodeDecodeError, OverflowError are mapped to `MalformedRecord` at the codec boundary
(tests/unit/handover fuzz this).  `MalformedRecord` means "drop or quarantine this record
(or this connection, for a framing error)"; `CodecUsageError` is a bug in our own code.
"""

from __future__ import annotations


class HandoverError(Exception):
    """Base class of the handover codec errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def to_dict(self) -> dict[str, object]:
        return {"error": type(self).__name__, "message": self.message}


class MalformedRecord(HandoverError):
    """The peer sent bytes that are not a valid record.

    `reason` is a short, stable, machine-readable slug (for counters and logs);
    `offset` is the byte offset of the fault within the record (or the stream, for the
    splitter) when known.
    """

    def __init__(self, reason: str, message: str | None = None, offset: int | None = None) -> None:
        super().__init__(message or reason)
        self.reason = reason
        self.offset = offset

    def __repr__(self) -> str:
        parts = [repr(self.reason)]
        if self.message != self.reason:
            parts.append(f"message={self.message!r}")
        if self.offset is not None:
            parts.append(f"offset={self.offset}")
        return f"MalformedRecord({', '.join(parts)})"

    def __str__(self) -> str:
        where = f" at offset {self.offset}" if self.offset is not None else ""
        if self.message == self.reason:
            return f"{self.reason}{where}"
        return f"{self.reason}{where}: {self.message}"

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason, self.message, self.offset))

    def to_dict(self) -> dict[str, object]:
        body = super().to_dict()
        body["reason"] = self.reason
        if self.offset is not None:
            body["offset"] = self.offset
        return body


class CodecUsageError(HandoverError):
    """The caller misused a codec API (a bug on our side, not the peer's)."""
