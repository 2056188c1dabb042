"""Request bodies of the JSON API (they give the OpenAPI document its shapes)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Login(BaseModel):
    username: str
    password: str
    totp: str | None = Field(None, description="second-factor code, if required (C4)")


class Code(BaseModel):
    code: str


class IdentifierIn(BaseModel):
    kind: str = Field(description="e164, imsi, imei, sip_uri, ip, url, email")
    value: str


class UserIn(BaseModel):
    username: str
    password: str
    role: str
    unit: str
    display_name: str = ""
    agency: str = ""


class Offboard(BaseModel):
    mode: str = Field(description="transfer or leave")
    new_unit: str | None = None
    reason: str = ""


class TokenIn(BaseModel):
    name: str
    scopes: list[str]
    days: int = 90


class CaseIn(BaseModel):
    complaint_number: str
    title: str
    unit: str | None = None
    political_activity: bool = False


class ApprovalIn(BaseModel):
    reasons: str


class AuthorityIn(BaseModel):
    kind: str = Field(description="prtt (A1) or eavesdropping (A2)")
    court_level: str = "state"
    court: str
    judge: str
    docket: str
    offenses: list[str]
    issued_at: str
    effective_at: str | None = None
    expires_at: str
    identifiers: list[IdentifierIn]
    document_id: str | None = None
    applicant: str = ""
    progress_report_days: int | None = None


class ExtensionIn(BaseModel):
    judge: str
    docket: str
    issued_at: str
    expires_at: str
    findings: str
    court: str = ""
    document_id: str | None = None


class DocumentAttach(BaseModel):
    document_id: str
    court: str = ""
    judge: str = ""
    docket: str = ""
    issued_at: str | None = None
    expires_at: str | None = None


class FindingIn(BaseModel):
    answered: bool
    justification: str


class DeclarationIn(BaseModel):
    kind: str = Field(description="emergency_prtt (A3) or emergency_eavesdropping (A4)")
    court_level: str = "state"
    findings: dict[str, FindingIn]
    identifiers: list[IdentifierIn]
    offenses: list[str]


class Reason(BaseModel):
    reason: str = ""


class CarrierIn(BaseModel):
    name: str
    contact: str = ""
    formats: list[str] = ["etsi-102232"]
    addresses: list[str] = []
    hi2_port: int | None = None
    hi3_port: int | None = None
    tls_client_cert: str | None = None


class CarrierPatch(BaseModel):
    """The fields given are changed; `null` clears a port or the client certificate."""
    model_config = ConfigDict(extra="forbid")
    contact: str | None = None
    formats: list[str] | None = None
    addresses: list[str] | None = None
    hi2_port: int | None = None
    hi3_port: int | None = None
    tls_client_cert: str | None = None


class InterceptIn(BaseModel):
    carrier_id: str
    liid: str
    identifiers: list[IdentifierIn]


class PackageEvent(BaseModel):
    event: str = Field(description="sent or acknowledged")
    at: str | None = None


class GrantIn(BaseModel):
    user_id: str
    authority_id: str
    purpose: str
    starts_at: str | None = None
    ends_at: str | None = None
    court_order: str | None = Field(None, description="for an external agency's user (C6)")


class CoverageIn(BaseModel):
    liid: str | None = None
    identifier: IdentifierIn | None = None
    intercepted_at: str
    has_content: bool = False


class NetworkPolicyIn(BaseModel):
    facility_networks: list[str] | None = None
    workstations: list[str] | None = None
    restrict_workstations: bool | None = None
    require_mfa_everywhere: bool | None = None


def body(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_none=True)
