"""Questions about versions that other domains ask (the gateway: which file serves a resource now?)."""

from __future__ import annotations

import functools
from pathlib import Path

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from sluice.lake.models import Version
from sluice.lake.schemas import VersionStatus
from sluice.lake.storage import DATA_FILE


def serving_version(session: Session, resource_id: int) -> Version | None:
    """The newest published version: the one every read of the resource is answered from."""
    return session.scalars(_serving_version(), {"resource_id": resource_id}).first()


@functools.cache
def _serving_version() -> Select[Version]:
    # Built once (the gateway asks at every call; building a statement costs more than running it).
    return (
        select(Version)
        .where(Version.resource_id == bindparam("resource_id"), Version.status == VersionStatus.PUBLISHED.value)
        .order_by(Version.number.desc())
        .limit(1)
        .execution_options(populate_existing=True)  # as it is now, even if the session holds an older copy
    )


def data_file(lake_dir: Path, version: Version) -> Path:
    if version.path is None:
        raise ValueError(f"version {version.number} has no files")
    return lake_dir / version.path / DATA_FILE
