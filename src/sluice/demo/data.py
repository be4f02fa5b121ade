"""The demo's data: the synthetic city written as CSV files and loaded as each department's first version.

Each file is ingested by the department's own provider account (``<org>-admin``) with bad rows quarantined,
so the demo's versions carry real validation reports: the deliberately wrong residents (see
``demo.population``) are found, counted and kept apart, exactly as a real upload's would be.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from sluice.demo.population import City, write_table
from sluice.identity.authn import actor_for_user
from sluice.identity.queries import find_user
from sluice.lake.ingestion import ingest
from sluice.lake.schemas import IngestOptions, OnError, VersionStatus

if TYPE_CHECKING:
    from sluice.demo.build import Progress
    from sluice.platform import Platform


def load_data(platform: Platform, scale: int, progress: Progress) -> dict[str, VersionStatus]:
    """Write and ingest every scenario table; return each resource's resulting version status."""
    city = City(scale=scale)
    tables = city.tables()
    folder = platform.settings.staging_dir / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=folder))
    statuses: dict[str, VersionStatus] = {}
    try:
        for number, (code, rows) in enumerate(tables.items(), start=1):
            source = write_table(rows, work / f"{code}.csv")
            org = code.split(".", 1)[0]
            with platform.reading() as session:
                provider = actor_for_user(find_user(session, f"{org}-admin"), via="demo")
            version = ingest(
                platform, provider, code=code, source=source, options=IngestOptions(on_error=OnError.QUARANTINE)
            )
            statuses[code] = version.status
            source.unlink()
            progress("data", number, len(tables))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return statuses
