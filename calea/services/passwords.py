"""Passwords (Argon2id, rule C1) and TOTP second factors (rule C4)."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from calea.errors import InvalidInput

_hasher = PasswordHasher()  # argon2-cffi's defaults are Argon2id (RFC 9106 low-memory profile)
MIN_PASSWORD = 12


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password has at least {MIN_PASSWORD} characters", field="password")
    if password.lower() == password or password.upper() == password or not any(c.isdigit() for c in password):
        raise InvalidInput("a password mixes upper- and lower-case letters and digits", field="password")


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="calea")


def totp_qr_svg(uri: str) -> str:
    return segno.make(uri, error="m").svg_inline(scale=4)


def totp_step(secret: str, code: str, at: datetime) -> int | None:
    """The 30-second time step the code belongs to (±1 step for clock drift), or None."""
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(at)
    for step in (now_step, now_step - 1, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify_totp(secret: str, code: str, at: datetime, last_step: int | None = None) -> int | None:
    """C4: the code's time step when it is valid and newer than the last one used (a code is
    never accepted twice), else None."""
    step = totp_step(secret, code, at)
    if step is None or (last_step is not None and step <= last_step):
        return None
    return step


def totp_now(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)
