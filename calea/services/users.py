"""Users, sign-in, sessions and API tokens (rules C1, C3, C4)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from calea.db.schema import api_tokens, grants, sessions, users
from calea.domain.access import Perm, Role, access_requirement, require
from calea.errors import AccessDenied, Conflict, InvalidInput, NotAuthenticated, NotFound, RuleViolation
from calea.services import passwords
from calea.services.context import Actor, Services

_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")

SCOPES = {
    "cases:read": "read cases, authorities, documents and intercept records you may see",
    "cases:write": "open cases, record authorities, declarations and documents",
    "intercepts:write": "create, activate and deactivate intercepts (taru)",
    "coverage:read": "ask which authority covers a delivery",
    "grants:write": "grant and revoke access (taru)",
    "users:write": "manage users (taru)",
    "audit:read": "read and verify the audit log",
    "alerts:read": "read alerts",
}


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def public_user(r: Any) -> dict[str, Any]:
    return {
        "id": r["id"], "username": r["username"], "display_name": r["display_name"], "role": r["role"],
        "unit": r["unit"], "agency": r["agency"], "active": bool(r["active"]), "can_grant": bool(r["can_grant"]),
        "mfa_enrolled": r["totp_enrolled_at"] is not None, "locked_until": r["locked_until"],
        "created_at": r["created_at"], "offboarded_at": r["offboarded_at"],
    }


def create_user(svc: Services, actor: Actor | None, *, username: str, password: str, role: str,
                unit: str, display_name: str = "", agency: str = "") -> dict[str, Any]:
    """C1: unique username, Argon2id password, a role and a unit."""
    if actor is not None:
        require(actor.role, Perm.MANAGE_USERS)
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidInput("a username is 3–64 lower-case letters, digits, '.', '_' or '-'", field="username")
    try:
        role_v = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}", field="role") from None
    if not unit.strip():
        raise InvalidInput("a user belongs to a unit", field="unit", rule="C1")
    if role_v is Role.EXTERNAL and not agency.strip():
        raise InvalidInput("an external user names their agency", field="agency", rule="C6")
    pw_hash = passwords.hash_password(password)
    with svc.db.write() as conn:
        if conn.execute(select(users.c.id).where(users.c.username == username)).first():
            raise Conflict(f"the username {username!r} is taken", rule="C1", field="username")
        user_id = svc.new_id()
        conn.execute(insert(users).values(
            id=user_id, username=username, display_name=display_name or username, role=role_v.value,
            unit=unit.strip(), agency=agency.strip(), password_hash=pw_hash, created_at=svc.now(),
            active=True, can_grant=True, failed_logins=0,
        ))
        if actor is not None:
            svc.audit(conn, actor, "user.create", object_type="user", object_id=user_id, detail=f"role={role_v.value}")
        return public_user(conn.execute(select(users).where(users.c.id == user_id)).mappings().one())


def get_user(conn: Connection, user_id: str) -> Any:
    row = conn.execute(select(users).where(users.c.id == user_id)).mappings().first()
    if row is None:
        raise NotFound("no such user")
    return row


@dataclass(frozen=True)
class LoginResult:
    token: str
    user: dict[str, Any]
    mfa_required: bool
    mfa_ok: bool


def login(svc: Services, *, username: str, password: str, ip: str, user_agent: str = "",
          totp: str | None = None) -> LoginResult:
    """C1, C4: password (with lockout), then the second factor where it is required.

    A failure is counted in its own committed transaction before the error is raised."""
    now = svc.now()
    failure: Exception | None = None
    with svc.db.write() as conn:
        row = conn.execute(select(users).where(users.c.username == username.strip().lower())).mappings().first()
        if row is None or not row["active"]:
            passwords.verify_password(_DUMMY_HASH, password)  # same cost either way
            raise NotAuthenticated("wrong username or password")
        if row["locked_until"] is not None and row["locked_until"] > now:
            raise AccessDenied("the account is locked after repeated failures; try later or ask taru", rule="C1")
        if not passwords.verify_password(row["password_hash"], password):
            failure = NotAuthenticated("wrong username or password")
        else:
            enrolled = row["totp_enrolled_at"] is not None
            need = access_requirement(ip, svc.network_policy, mfa_enrolled=enrolled)
            if not need.allowed:
                raise AccessDenied(need.reason, rule="C4")
            if need.mfa_required and not enrolled:
                raise AccessDenied(
                    "a second factor is required from outside the facility networks; enrol it from a facility workstation",
                    rule="C4",
                )
            mfa_ok = not need.mfa_required
            if need.mfa_required and totp:
                step = passwords.verify_totp(row["totp_secret"], totp, now, row["totp_last_step"])
                if step is not None:
                    mfa_ok = True
                    conn.execute(update(users).where(users.c.id == row["id"]).values(totp_last_step=step))
                else:
                    failure = NotAuthenticated("wrong or already used second-factor code")
        if failure is not None:
            _count_failure(conn, svc, row)
        else:
            conn.execute(update(users).where(users.c.id == row["id"]).values(failed_logins=0, locked_until=None))
            token = secrets.token_urlsafe(32)
            conn.execute(insert(sessions).values(
                token_hash=_hash_token(token), user_id=row["id"], created_at=now, last_seen_at=now, ip=ip,
                user_agent=user_agent[:300], mfa_ok=mfa_ok, mfa_required=need.mfa_required,
            ))
    if failure is not None:
        raise failure
    return LoginResult(token, public_user(row), need.mfa_required, mfa_ok)


def _count_failure(conn: Connection, svc: Services, row: Any) -> None:
    """C1: lock the account for a while after repeated failures."""
    failures = int(row["failed_logins"]) + 1
    values: dict[str, Any] = {"failed_logins": failures}
    if failures >= svc.settings.lockout_threshold:
        values = {"failed_logins": 0, "locked_until": svc.now() + svc.settings.lockout_duration}
    conn.execute(update(users).where(users.c.id == row["id"]).values(**values))


_DUMMY_HASH = passwords._hasher.hash("dummy-password-for-timing-1A")


def verify_second_factor(svc: Services, token: str, code: str) -> None:
    now = svc.now()
    with svc.db.write() as conn:
        sess = conn.execute(select(sessions).where(sessions.c.token_hash == _hash_token(token))).mappings().first()
        if sess is None:
            raise NotAuthenticated("no session")
        row = get_user(conn, sess["user_id"])
        if row["totp_secret"] is None or row["totp_enrolled_at"] is None:
            raise Conflict("no second factor is enrolled", rule="C4")
        step = passwords.verify_totp(row["totp_secret"], code, now, row["totp_last_step"])
        ok = step is not None
        if ok:
            conn.execute(update(sessions).where(sessions.c.token_hash == sess["token_hash"]).values(mfa_ok=True, last_seen_at=now))
            conn.execute(update(users).where(users.c.id == row["id"]).values(totp_last_step=step))
        else:
            _count_failure(conn, svc, row)
            if int(row["failed_logins"]) + 1 >= svc.settings.lockout_threshold:
                conn.execute(delete(sessions).where(sessions.c.user_id == row["id"]))
    if not ok:
        raise NotAuthenticated("wrong or already used second-factor code")


def start_enrolment(svc: Services, actor: Actor) -> dict[str, str]:
    """C4: a new TOTP secret, shown once as a QR code; confirmed by a first code."""
    secret = passwords.new_totp_secret()
    with svc.db.write() as conn:
        row = get_user(conn, actor.user_id)
        if row["totp_enrolled_at"] is not None:
            raise Conflict("a second factor is already enrolled; taru resets it", rule="C4")
        conn.execute(update(users).where(users.c.id == actor.user_id).values(totp_secret=secret))
        svc.audit(conn, actor, "mfa.enrol.start", object_type="user", object_id=actor.user_id)
    uri = passwords.totp_uri(secret, actor.username)
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": passwords.totp_qr_svg(uri)}


def confirm_enrolment(svc: Services, actor: Actor, code: str) -> None:
    now = svc.now()
    with svc.db.write() as conn:
        row = get_user(conn, actor.user_id)
        if row["totp_secret"] is None:
            raise Conflict("start enrolment first", rule="C4")
        if row["totp_enrolled_at"] is not None:
            raise Conflict("a second factor is already enrolled", rule="C4")
        step = passwords.verify_totp(row["totp_secret"], code, now)
        if step is None:
            raise InvalidInput("the code does not match; check the device's clock and try again", field="code", rule="C4")
        conn.execute(update(users).where(users.c.id == actor.user_id).values(totp_enrolled_at=now, totp_last_step=step))
        if actor.session_id:
            conn.execute(update(sessions).where(sessions.c.token_hash == actor.session_id).values(mfa_ok=True))
        svc.audit(conn, actor, "mfa.enrol.confirm", object_type="user", object_id=actor.user_id)


def resolve_session(svc: Services, token: str, ip: str) -> tuple[Actor, bool]:
    """Server-side session lookup with idle and absolute timeouts; returns (actor, mfa_ok)."""
    now = svc.now()
    with svc.db.write() as conn:
        sess = conn.execute(select(sessions).where(sessions.c.token_hash == _hash_token(token))).mappings().first()
        if sess is None:
            raise NotAuthenticated("not signed in")
        if now - sess["last_seen_at"] > svc.settings.session_idle or now - sess["created_at"] > svc.settings.session_max:
            conn.execute(delete(sessions).where(sessions.c.token_hash == sess["token_hash"]))
            raise NotAuthenticated("the session has expired; sign in again")
        row = get_user(conn, sess["user_id"])
        if not row["active"]:
            conn.execute(delete(sessions).where(sessions.c.token_hash == sess["token_hash"]))
            raise NotAuthenticated("the account is not active")
        conn.execute(update(sessions).where(sessions.c.token_hash == sess["token_hash"]).values(last_seen_at=now))
        actor = Actor(row["id"], row["username"], Role(row["role"]), row["unit"], ip=ip, session_id=sess["token_hash"])
        return actor, bool(sess["mfa_ok"])


def logout(svc: Services, token: str) -> None:
    with svc.db.write() as conn:
        conn.execute(delete(sessions).where(sessions.c.token_hash == _hash_token(token)))


def create_token(svc: Services, actor: Actor, *, name: str, scopes: list[str], days: int = 90) -> dict[str, Any]:
    """Scoped API tokens for automation; the secret is shown once."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput(f"unknown or missing scopes {unknown}; known: {', '.join(SCOPES)}", field="scopes")
    if not 1 <= days <= 366:
        raise InvalidInput("a token lasts 1 to 366 days", field="days")
    if actor.scopes is not None:
        raise AccessDenied("tokens are created from a signed-in session, not with another token", rule="C1")
    token = "calea_" + secrets.token_urlsafe(32)
    now = svc.now()
    with svc.db.write() as conn:
        token_id = svc.new_id()
        conn.execute(insert(api_tokens).values(
            id=token_id, user_id=actor.user_id, name=name.strip()[:100] or "token", token_hash=_hash_token(token),
            scopes=sorted(set(scopes)), created_at=now, expires_at=now + timedelta(days=days),
        ))
        svc.audit(conn, actor, "token.create", object_type="api_token", object_id=token_id, detail=",".join(sorted(scopes)))
    return {"id": token_id, "token": token, "scopes": sorted(set(scopes)), "expires_at": now + timedelta(days=days)}


def resolve_token(svc: Services, token: str, ip: str) -> Actor:
    now = svc.now()
    with svc.db.write() as conn:
        tok = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == _hash_token(token))).mappings().first()
        if tok is None or tok["revoked_at"] is not None or tok["expires_at"] <= now:
            raise NotAuthenticated("the API token is unknown, revoked or expired")
        row = get_user(conn, tok["user_id"])
        if not row["active"]:
            raise NotAuthenticated("the account is not active")
        need = access_requirement(ip, svc.network_policy, mfa_enrolled=True)
        if not need.allowed:
            raise AccessDenied(need.reason, rule="C4")
        conn.execute(update(api_tokens).where(api_tokens.c.id == tok["id"]).values(last_used_at=now))
        return Actor(row["id"], row["username"], Role(row["role"]), row["unit"], ip=ip, scopes=frozenset(tok["scopes"]))


def offboard(svc: Services, actor: Actor, user_id: str, *, mode: str, new_unit: str | None = None,
             reason: str = "") -> dict[str, Any]:
    """C3: one action removes every grant and session of a user who is transferred or leaves;
    a taru member who is transferred loses the power to grant."""
    require(actor.role, Perm.MANAGE_USERS)
    if mode not in ("transfer", "leave"):
        raise InvalidInput("mode is 'transfer' or 'leave'", field="mode")
    if mode == "transfer" and not (new_unit or "").strip():
        raise InvalidInput("a transfer names the new unit", field="new_unit")
    if user_id == actor.user_id:
        raise RuleViolation("you cannot offboard yourself", rule="C3")
    now = svc.now()
    with svc.db.write() as conn:
        get_user(conn, user_id)  # NotFound for an unknown user
        revoked = conn.execute(
            update(grants).where(grants.c.user_id == user_id, grants.c.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=f"offboard:{mode}")
        ).rowcount
        killed = conn.execute(delete(sessions).where(sessions.c.user_id == user_id)).rowcount
        conn.execute(update(api_tokens).where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None)).values(revoked_at=now))
        values: dict[str, Any] = {"can_grant": False}
        if mode == "transfer":
            values["unit"] = (new_unit or "").strip()
        else:
            values.update(active=False, offboarded_at=now)
        conn.execute(update(users).where(users.c.id == user_id).values(**values))
        svc.audit(conn, actor, f"user.offboard.{mode}", object_type="user", object_id=user_id,
                  detail=f"grants_revoked={revoked} sessions_ended={killed} {reason}".strip())
        out = public_user(get_user(conn, user_id))
    out.update(grants_revoked=revoked, sessions_ended=killed)
    return out


def unlock(svc: Services, actor: Actor, user_id: str, *, reset_mfa: bool = False) -> dict[str, Any]:
    require(actor.role, Perm.MANAGE_USERS)
    with svc.db.write() as conn:
        get_user(conn, user_id)
        values: dict[str, Any] = {"locked_until": None, "failed_logins": 0}
        if reset_mfa:
            values.update(totp_secret=None, totp_enrolled_at=None)
        conn.execute(update(users).where(users.c.id == user_id).values(**values))
        svc.audit(conn, actor, "user.unlock", object_type="user", object_id=user_id, detail=f"reset_mfa={reset_mfa}")
        return public_user(get_user(conn, user_id))


def list_users(svc: Services, actor: Actor) -> list[dict[str, Any]]:
    require(actor.role, Perm.MANAGE_USERS)
    with svc.db.read() as conn:
        return [public_user(r) for r in conn.execute(select(users).order_by(users.c.username)).mappings()]


