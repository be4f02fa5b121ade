"""The log across real processes: a sequencer killed (SIGKILL) in the middle of a batch loses nothing that was
acknowledged and leaves no half-written batch; several processes appending and sequencing at once leave one
gap-free log (on PostgreSQL the advisory lock serialises them; on SQLite the single writer does)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from sluice.audit.export import export_log, first_changed_entry
from sluice.audit.models import AuditEvent, AuditLeaf, AuditQueue
from sluice.audit.sequencer import sequence, sign_tree_head, tree_size
from sluice.audit.standalone_verifier import verify_export
from sluice.platform import Platform

PROLOGUE = """
import sys, time
from pathlib import Path
from sluice.audit.log import record
from sluice.audit.sequencer import sequence
from sluice.identity.actor import Actor
from sluice.platform import Platform
from sluice.settings import Settings

platform = Platform.open(Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2] or None))
actor = Actor.system(via="process-test")
"""

KILLED_MID_BATCH = (
    PROLOGUE
    + """
for n in range(40):
    with platform.transaction() as session:
        event = record(session, actor, "test.acknowledged", "log", n=n)
    print("acknowledged", event.id, flush=True)  # after the commit, as a response would be sent
with platform.transaction() as session:
    sequence(session, limit=15)
with platform.transaction() as session:
    print("mid-batch", sequence(session, limit=1000), flush=True)  # written, not committed
    time.sleep(600)
"""
)

APPENDER = (
    PROLOGUE
    + """
for n in range(60):
    with platform.transaction() as session:
        record(session, actor, "test.concurrent", "log", process=sys.argv[3], n=n)
    if n % 5 == 4:
        with platform.transaction() as session:
            sequence(session, limit=7)
"""
)


def _child(platform: Platform, script: str, *extra: str) -> subprocess.Popen[str]:
    settings = platform.settings
    arguments = [str(settings.data_dir), settings.database_url or "", *extra]
    return subprocess.Popen(
        [sys.executable, "-c", script, *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )


def _verified(platform: Platform, folder: Path) -> int:
    """Sequence the rest, sign, and check the whole log as an outsider would; return its size."""
    with platform.transaction() as session:
        while sequence(session):
            pass
        size = sign_tree_head(session).tree_size
    with platform.reading() as session:
        assert list(session.scalars(select(AuditLeaf.index).order_by(AuditLeaf.index))) == list(range(size))
        assert session.scalar(select(func.count()).select_from(AuditQueue)) == 0
        assert first_changed_entry(session) is None
        export_log(session, platform.signer, platform.settings.keys_dir, folder)
    report = verify_export(folder)
    assert report.ok, report.render()
    assert report.entries == size
    return size


def test_a_sequencer_killed_mid_batch_loses_nothing_acknowledged(platform: Platform, tmp_path: Path) -> None:
    with platform.reading() as session:
        before = tree_size(session)
        queued_before = session.scalar(select(func.count()).select_from(AuditQueue)) or 0
    child = _child(platform, KILLED_MID_BATCH)
    assert child.stdout is not None
    acknowledged: list[int] = []
    for line in child.stdout:
        word, number = line.split()
        if word == "mid-batch":
            assert int(number) == queued_before + 40 - 15  # the batch holds every event still queued
            break
        acknowledged.append(int(number))
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert len(acknowledged) == 40

    with platform.reading() as session:
        assert tree_size(session) == before + 15  # the completed batch, and nothing of the killed one
        queued = set(session.scalars(select(AuditQueue.event_id)))
        placed = set(session.scalars(select(AuditLeaf.event_id)))
    assert set(acknowledged) <= queued | placed
    assert not queued & placed

    _verified(platform, tmp_path / "export")
    with platform.reading() as session:
        logged = set(
            session.scalars(select(AuditLeaf.event_id).join(AuditEvent).where(AuditEvent.action == "test.acknowledged"))
        )
    assert logged == set(acknowledged)


def test_processes_appending_and_sequencing_at_once_leave_one_gap_free_log(platform: Platform, tmp_path: Path) -> None:
    children = [_child(platform, APPENDER, str(number)) for number in range(3)]
    for child in children:
        _, errors = child.communicate(timeout=180)
        assert child.returncode == 0, errors
    _verified(platform, tmp_path / "export")
    with platform.reading() as session:
        rows = session.execute(
            select(AuditEvent.entry).join(AuditLeaf).where(AuditEvent.action == "test.concurrent")
        ).scalars()
        assert sum(1 for _ in rows) == 3 * 60
