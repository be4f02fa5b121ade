"""What the linked-source use cases take and return. The connection string goes in, and never comes out."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, SecretStr


class SourceLink(BaseModel):
    url: SecretStr = Field(
        description="SQLAlchemy URL of the department's database, with credentials: postgresql://user:pass@host/db, "
        "mysql://user:pass@host/db or sqlite:////path/to/file.db. Stored encrypted; never shown again."
    )
    table: str = Field(min_length=1, max_length=128)
    schema_name: str | None = Field(default=None, max_length=128, alias="schema")
    mapping: dict[str, str | None] = Field(
        default_factory=dict, description="Source column → field name (null: not used), where names differ."
    )

    model_config = {"populate_by_name": True}


class SourcePublic(BaseModel):
    resource: str
    dialect: str
    url: str = Field(description="The connection with its password hidden.")
    table: str
    schema_name: str | None = Field(serialization_alias="schema")
    columns: dict[str, str | None] = Field(description="Source column → field.")
    created_by: str
    created_at: datetime
    updated_at: datetime
