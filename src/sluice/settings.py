"""Settings, read from the environment (prefix ``SLUICE_``). Nothing is built here at import time."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SIGNING_KEY_FILE = "signing-ed25519.pem"


class Settings(BaseSettings):
    """Everything an operator can configure. See docs/operations.md for each setting."""

    model_config = SettingsConfigDict(env_prefix="SLUICE_", extra="ignore")

    data_dir: Path = Field(
        default=Path("sluice-data"),
        description="Folder holding the metadata database (SQLite default), the lake and the keys.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata database, e.g. postgresql+psycopg://user@host/db. "
        "Default: SQLite in the data folder.",
    )
    token_touch_seconds: int = Field(
        default=60,
        ge=0,
        description="A token's last-used time is written at most this often, to spare the database.",
    )
    token_max_days: int = Field(
        default=365, ge=1, le=3650, description="Longest life of a token made over the API (the shell is not bound)."
    )
    login_attempts_per_minute: int = Field(
        default=10, ge=1, description="Sign-in attempts allowed per client address per minute, per API process."
    )
    feedback_per_minute: int = Field(
        default=5,
        ge=1,
        description="Feedback messages on datasets per client address per minute (spam stays a trickle).",
    )
    anonymous_queries_per_minute: int = Field(
        default=60,
        ge=1,
        description="Governed queries, row pages and downloads of open data per client address "
        "per minute for callers without a token, per API process.",
    )
    page_size_max: int = Field(default=500, ge=1, le=10_000, description="Largest page any list returns.")
    upload_max_bytes: int = Field(
        default=8 * 1024**3, ge=1, description="Largest file a provider may upload or ingest (bytes; default 8 GiB)."
    )
    version_retention_days: int = Field(
        default=365, ge=0, description="How long a superseded version stays queryable before `sluice lake prune`."
    )
    ingest_memory_limit: str = Field(
        default="1GB", description="Memory DuckDB may use for one ingestion; beyond it, it spills to the work folder."
    )
    ingest_threads: int = Field(default=2, ge=1, le=64, description="Threads DuckDB may use for one ingestion.")
    row_group_rows: int = Field(
        default=100_000,
        ge=2_048,
        le=10_000_000,
        description="Rows per Parquet row group in a version (DuckDB writes at least 2048, its vector size).",
    )
    pii_sample_rows: int = Field(default=10_000, ge=100, description="Values per column the PII scan looks at.")
    pii_threshold: float = Field(
        default=0.6, gt=0, le=1, description="Share of sampled values that must look personal to flag a column."
    )
    source_sqlite_dirs: list[Path] = Field(
        default_factory=list,
        description="Folders whose SQLite files may be linked as sources (JSON list); none by default.",
    )
    source_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts linked sources may be on (JSON list); empty: any but the metadata database's.",
    )
    xlsx_max_uncompressed_bytes: int = Field(
        default=1024**3, ge=1, description="Largest total uncompressed size of an uploaded workbook (zip bomb guard)."
    )

    query_seconds: float = Field(default=30.0, gt=0, le=3600, description="Time limit of one governed query.")
    export_seconds: float = Field(
        default=600.0, gt=0, le=86_400, description="Time limit of one governed export (download or file answer)."
    )
    export_max_rows: int = Field(
        default=50_000_000, ge=1, description="Most rows one export may hold (the rest is cut and marked truncated)."
    )
    query_memory_limit: str = Field(
        default="1GB", description="Memory DuckDB may use for one governed query; beyond it, the query fails."
    )
    serving_cache_rows: int = Field(
        default=2_000_000,
        ge=0,
        description="Rows of the lake's serving versions each API process keeps in memory, indexed by key, for "
        "fast lookups (0: read every query from the Parquet files).",
    )
    gateway_concurrency: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Governed queries, row pages and downloads one API process runs at once; the rest wait their "
        "turn in order (fewer, fairer: on two cores, 16 at once made the slowest wait seconds).",
    )
    webhook_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts organisations may register webhooks on (JSON list); empty: any. Set it so that no "
        "one can make the platform POST to internal services.",
    )
    audit_sequence_seconds: float = Field(
        default=0.2,
        ge=0,
        description="How often each API process gives queued audit events their place in the Merkle log (group "
        "commit; events are durable before this). 0: never (run `sluice audit sign`).",
    )
    tree_head_seconds: float = Field(
        default=60.0, gt=0, description="How often a new tree head is signed while the log grows."
    )
    application_answer_days: int = Field(
        default=10, ge=1, le=90, description="Working days a provider has to answer an application."
    )
    objection_answer_days: int = Field(
        default=5, ge=1, le=90, description="Working days a provider has to answer a data objection."
    )
    grant_max_days: int = Field(default=1095, ge=1, description="Longest period one grant may run (renew by applying).")
    standing_grant_days: int = Field(
        default=365, ge=1, description="How long a standing grant on an unconditional resource runs before renewal."
    )
    holidays_dir: Path | None = Field(
        default=None,
        description="Folder of the State Council's holiday lists loaded by the operator (`sluice holidays load`); "
        "default: <data_dir>/holidays.",
    )
    deadline_sweep_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How often the server escalates applications and objections past their deadline (0: never; "
        "then run `sluice sharing sweep`).",
    )
    query_threads: int = Field(default=2, ge=1, le=64, description="Threads DuckDB may use for one governed query.")
    spark_master: str = Field(default="local[2]", description="Spark master URL for resources served by Spark.")
    spark_driver_memory: str = Field(default="1g", description="Memory of the Spark driver (its memory cap).")
    webhook_interval_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How often each API process sends due webhook deliveries (0: none; run `sluice webhooks "
        "deliver` from a scheduler instead).",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError(
                "SLUICE_DATABASE_URL must be a SQLite or PostgreSQL SQLAlchemy URL "
                "(sqlite:///path or postgresql+psycopg://user@host/db)"
            )
        if value.startswith("postgresql://"):
            # The bare scheme would pick psycopg2, which is not installed; psycopg 3 is.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @property
    def metadata_url(self) -> str:
        """The database URL in force: the configured one, or SQLite inside the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sluice.db').resolve()}"

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def staging_dir(self) -> Path:
        """Work in progress (uploads, ingestions): never read by the gateway; swept by `sluice lake recover`."""
        return self.lake_dir / ".staging"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def signing_key_path(self) -> Path:
        return self.keys_dir / SIGNING_KEY_FILE
