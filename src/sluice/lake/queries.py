"""Questions about versions that other domains ask (the gateway: which file serves a resource now?)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.lake.models import Version
from sluice.lake.schemas import VersionStatus
from sluice.lake.storage import DATA_FILE


def serving_version(session: Session, resource_id: int) -> Version | None:
    """The newest published version: the one every read of the resource is answered from."""
    return session.scalars(
        select(Version)
        .where(Version.resource_id == resource_id, Version.status == VersionStatus.PUBLISHED.value)
        .order_by(Version.number.desc())
        .limit(1)
    ).first()


def data_file(lake_dir: Path, version: Version) -> Path:
    if version.path is None:
        raise ValueError(f"version {version.number} has no files")
    return lake_dir / version.path / DATA_FILE
