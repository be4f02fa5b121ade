"""What the identity use cases take and return (the XCreate / XPublic families)."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from sluice.identity.roles import OrgKind, Role

ORG_CODE_PATTERN = r"^[a-z][a-z0-9_]{1,31}$"
USERNAME_PATTERN = r"^[a-z][a-z0-9._-]{1,63}$"
ORG_CODE_RULE = "2–32 characters: lower-case letters, digits or '_', starting with a letter (e.g. psb)"
USERNAME_RULE = "2–64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter (e.g. psb-admin)"


def _org_code(value: str) -> str:
    if not re.fullmatch(ORG_CODE_PATTERN, value):
        raise ValueError(f"{value!r} is not a valid organisation code: {ORG_CODE_RULE}")
    return value


RESERVED_USERNAMES = frozenset({"system", "anonymous"})  # names the audit log uses for non-accounts


def _username(value: str) -> str:
    if not re.fullmatch(USERNAME_PATTERN, value):
        raise ValueError(f"{value!r} is not a valid username: {USERNAME_RULE}")
    if value in RESERVED_USERNAMES:
        raise ValueError(f"{value!r} is reserved; choose another username")
    return value


class OrganisationCreate(BaseModel):
    code: str = Field(
        description=f"Organisation code: {ORG_CODE_RULE}.", json_schema_extra={"pattern": ORG_CODE_PATTERN}
    )
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    kind: OrgKind

    _check_code = field_validator("code")(_org_code)


class OrganisationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name_zh: str
    name_en: str
    kind: OrgKind
    created_at: datetime


class UserCreate(BaseModel):
    username: str = Field(description=f"Login name: {USERNAME_RULE}.", json_schema_extra={"pattern": USERNAME_PATTERN})
    display_name: str = Field(default="", max_length=200)
    org_code: str = Field(description="The organisation's code.", json_schema_extra={"pattern": ORG_CODE_PATTERN})
    roles: list[Role] = Field(default_factory=list)

    _check_username = field_validator("username")(_username)
    _check_org_code = field_validator("org_code")(_org_code)


class UserRolesUpdate(BaseModel):
    roles: list[Role]


class UserPublic(BaseModel):
    username: str
    display_name: str
    organisation: str
    org_kind: OrgKind
    roles: list[Role]
    created_at: datetime
    disabled: bool
    has_password: bool


class Me(UserPublic):
    organisation_name_zh: str
    organisation_name_en: str
    authenticated_via: str


class TokenCreate(BaseModel):
    name: str = Field(default="api", min_length=1, max_length=100)
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="Expiry, ISO 8601 with a time zone; at most SLUICE_TOKEN_MAX_DAYS ahead (the default).",
    )


class TokenPublic(BaseModel):
    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class NewToken(TokenPublic):
    token: str = Field(description="The secret. Shown once; only its hash is kept.")
