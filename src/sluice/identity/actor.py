"""The acting party of a use case: a signed-in account, the anonymous public, or the local system (CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sluice.identity.roles import OrgKind, Role


class ActorKind(StrEnum):
    USER = "user"
    ANONYMOUS = "anonymous"
    SYSTEM = "system"  # someone with shell access to the data folder, acting through `sluice` commands


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    username: str
    user_id: int | None = None
    org_id: int | None = None
    org_code: str | None = None
    org_kind: OrgKind | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    via: str = ""  # how the actor proved who it is: "token:<id>", "password", "cli"
    credential_expires_at: datetime | None = None  # when the credential it presented stops working

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(kind=ActorKind.ANONYMOUS, username="anonymous", via="none")

    @classmethod
    def system(cls, via: str = "cli") -> Actor:
        return cls(kind=ActorKind.SYSTEM, username="system", via=via)

    @property
    def is_user(self) -> bool:
        return self.kind is ActorKind.USER

    @property
    def is_system(self) -> bool:
        return self.kind is ActorKind.SYSTEM

    def has(self, role: Role) -> bool:
        return role in self.roles

    def belongs_to(self, org_id: int) -> bool:
        return self.is_user and self.org_id == org_id
