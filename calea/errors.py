"""Errors of the service layer, each with the HTTP status the API maps it to.

    CaleaError
     ├── InvalidInput        400  the request is malformed or a value does not validate
     ├── NotAuthenticated    401  no valid session or token
     ├── AccessDenied        403  the caller may not do this (names the rule, e.g. C2)
     ├── NotFound            404
     ├── Conflict            409  the state does not allow it (e.g. already active)
     └── RuleViolation       422  a legal rule refuses it (names the rule id, e.g. A1)
"""

from __future__ import annotations


class CaleaError(Exception):
    status = 500
    code = "error"

    def __init__(self, message: str, *, rule: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in (("rule", self.rule), ("field", self.field)) if v)
        return f"{type(self).__name__}({self.message!r}{extra})"

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.code, "message": self.message}
        if self.rule:
            body["rule"] = self.rule
        if self.field:
            body["field"] = self.field
        return body


class InvalidInput(CaleaError):
    status = 400
    code = "invalid_input"


class NotAuthenticated(CaleaError):
    status = 401
    code = "not_authenticated"


class AccessDenied(CaleaError):
    status = 403
    code = "forbidden"


class NotFound(CaleaError):
    status = 404
    code = "not_found"


class Conflict(CaleaError):
    status = 409
    code = "conflict"


class RuleViolation(CaleaError):
    status = 422
    code = "rule_violation"
