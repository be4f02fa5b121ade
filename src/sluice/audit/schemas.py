"""What the audit use cases return."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TreeHead(BaseModel):
    tree_size: int
    root_hash: str = Field(description="Hex SHA-256 root of the first tree_size entries (RFC 9162 §2.1).")
    timestamp: str
    key_id: str
    signature: str = Field(
        description="Ed25519 (base64) over canonical JSON of {tree_size, root_hash, timestamp, key_id}."
    )


class LogEntry(BaseModel):
    index: int
    event: int = Field(description="The audit event's id (what receipts name as audit_event).")
    entry: str = Field(description="The canonical JSON entry; its UTF-8 bytes are the leaf.")
    leaf_hash: str


class EntriesPage(BaseModel):
    entries: list[LogEntry]
    tree_size: int = Field(description="Entries in the log now (some may still wait to be sequenced).")
    next: int | None = Field(description="Pass as start for the following page; null on the last.")


class InclusionProof(BaseModel):
    index: int
    event: int
    tree_size: int
    leaf_hash: str
    root_hash: str
    proof: list[str] = Field(description="Hex hashes, RFC 9162 §2.1.3 (audit path).")


class ConsistencyProof(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str] = Field(description="Hex hashes, RFC 9162 §2.1.4.")
