"""The checkpoint signing key on disk: create, load, rotate; keep every public key.

Layout of `keys_dir` (mode 0700, created so):

    signing.key          the active Ed25519 private key, PKCS#8 PEM, mode 0600
    <key id hex>.vkey    one per key ever active: ``<name>+<key id>+<base64 key>`` (note.py)

Rules:
- A private key file readable, writable or executable by group or others, not a regular
  file, a symlink, or not owned by us is refused (`KeyFileError`, reason
  ``unsafe-permissions``), like ssh does; so is a group/world-writable key directory.
- A key's `.vkey` is written before the key becomes active, so every checkpoint ever
  signed has its public key on disk; `.vkey` files are never overwritten or deleted.
- `rotate` makes a new active key and atomically replaces `signing.key`; the retired
  private key is gone (it cannot sign again), its public key stays, so checkpoints it
  signed still verify.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from calea.store.merkle._files import fsync_dir
from calea.store.merkle.errors import CheckpointError, KeyFileError
from calea.store.merkle.note import PublicKey, SigningKey

DEFAULT_KEY_NAME = "calea"
SIGNING_KEY_FILE = "signing.key"
_VKEY_SUFFIX = ".vkey"


def load_or_create_signing_key(
    keys_dir: str | os.PathLike[str], name: str = DEFAULT_KEY_NAME
) -> SigningKey:
    """The active signing key in `keys_dir`, creating the directory and key if absent."""
    d = _ensure_dir(Path(keys_dir))
    path = d / SIGNING_KEY_FILE
    if not os.path.lexists(path):
        key = SigningKey.generate(name)
        _write_vkey(d, key.public_key)
        if _write_private(d, key, replace=False):
            return key
    key = SigningKey(name, _load_private(path))
    _write_vkey(d, key.public_key)  # e.g. first use under a new key name
    return key


def rotate(keys_dir: str | os.PathLike[str], name: str = DEFAULT_KEY_NAME) -> SigningKey:
    """Make a new active signing key; the old public key stays in `public_keys`."""
    d = Path(keys_dir)
    load_or_create_signing_key(d, name)  # the old key's vkey is on disk before we drop it
    key = SigningKey.generate(name)
    _write_vkey(d, key.public_key)
    _write_private(d, key, replace=True)
    return key


def public_keys(keys_dir: str | os.PathLike[str]) -> list[PublicKey]:
    """Every public key that was ever active in `keys_dir` (to verify old checkpoints)."""
    d = Path(keys_dir)
    out = []
    try:
        paths = sorted(p for p in d.iterdir() if p.name.endswith(_VKEY_SUFFIX))
        for p in paths:
            out.append(PublicKey.from_vkey(p.read_text(encoding="ascii")))
    except OSError as exc:
        raise KeyFileError(
            f"cannot read public keys in {d}: {exc.strerror}", reason="io-error"
        ) from exc
    except (CheckpointError, UnicodeDecodeError) as exc:
        raise KeyFileError(
            f"malformed public key file in {d}: {exc}", reason="bad-key-file"
        ) from exc
    return out


def _ensure_dir(d: Path) -> Path:
    if not d.exists():
        d.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=0o700)
            os.chmod(d, 0o700)  # mkdir's mode is filtered by the umask
    st = os.stat(d)
    if not stat.S_ISDIR(st.st_mode):
        raise KeyFileError(f"{d} is not a directory", reason="bad-key-dir")
    if st.st_mode & 0o022:
        raise KeyFileError(
            f"key directory {d} is writable by group or others (mode {st.st_mode & 0o777:04o})",
            reason="unsafe-permissions",
        )
    return d


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise KeyFileError(
            f"cannot open key file {path} (symlinks are refused): {exc.strerror}",
            reason="unsafe-permissions" if os.path.islink(path) else "io-error",
        ) from exc
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise KeyFileError(
                f"key file {path} is not a regular file", reason="unsafe-permissions"
            )
        if st.st_mode & 0o077:
            raise KeyFileError(
                f"key file {path} is accessible by group or others "
                f"(mode {st.st_mode & 0o777:04o}); run: chmod 600 {path}",
                reason="unsafe-permissions",
            )
        if st.st_uid != os.geteuid():
            raise KeyFileError(
                f"key file {path} is not owned by this user", reason="unsafe-permissions"
            )
        data = f.read()
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(
            f"key file {path} is not a readable private key", reason="bad-key-file"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"key file {path} is not an Ed25519 key", reason="bad-key-file")
    return key


def _write_private(d: Path, key: SigningKey, *, replace: bool) -> bool:
    """Write `signing.key` (0600, fsynced).  Without `replace`, False if one appeared meanwhile."""
    pem = key.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    tmp = d / f".{SIGNING_KEY_FILE}.{secrets.token_hex(8)}.tmp"
    target = d / SIGNING_KEY_FILE
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # never clobbers a key another process just created
            except FileExistsError:
                return False
        fsync_dir(d)
    except OSError as exc:
        raise KeyFileError(
            f"cannot write key file in {d}: {exc.strerror}", reason="io-error"
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return True


def _write_vkey(d: Path, pub: PublicKey) -> None:
    path = d / f"{pub.key_id.hex()}{_VKEY_SUFFIX}"
    text = pub.to_vkey() + "\n"
    try:
        existing = path.read_text(encoding="ascii")
    except FileNotFoundError:
        existing = None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read {path}", reason="bad-key-file") from exc
    if existing is not None:
        if existing != text:  # a 32-bit key id collision: never overwrite a public key
            raise KeyFileError(f"{path} holds a different key", reason="key-id-collision")
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        try:
            os.write(fd, text.encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(d)
    except OSError as exc:
        raise KeyFileError(f"cannot write {path}: {exc.strerror}", reason="io-error") from exc
