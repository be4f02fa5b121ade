"""Replace, append and upsert: each makes a new version; older versions stay queryable; the newest serves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sluice.errors import Conflict, Invalid
from sluice.identity.actor import Actor
from sluice.lake import pipeline, service
from sluice.lake.ingestion import ingest
from sluice.lake.schemas import IngestOptions, Mode, VersionStatus
from sluice.platform import Platform
from tests.lake.conftest import (
    GOOD_IDS,
    HOTLINE_HEADER,
    RESIDENTS,
    hotline,
    lake_folders,
    make_id,
    read_parquet,
    resident,
    serving_number,
    stored_versions,
    write_csv,
)


def names_in(platform: Platform, number: int) -> dict[str, str]:
    data = stored_versions(platform, RESIDENTS)[number].data
    assert data is not None
    assert data.is_file()
    return {r["id_number"]: r["name"] for r in read_parquet(data)}


def test_append_and_upsert_build_new_versions_on_the_serving_one(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    provider = as_user("psb-admin")
    base = ingest(
        demo, provider, code=RESIDENTS, source=write_csv(tmp_path / "base.csv", [resident(i) for i in GOOD_IDS])
    )
    assert (base.number, base.status, base.rows) == (2, VersionStatus.PUBLISHED, 3)
    original = names_in(demo, 2)

    clash = ingest(
        demo,
        provider,
        code=RESIDENTS,
        source=write_csv(tmp_path / "clash.csv", [resident(make_id(1)), resident(GOOD_IDS[1], "李四")]),
        options=IngestOptions(mode=Mode.APPEND),
    )
    assert clash.status is VersionStatus.REJECTED
    assert clash.report is not None
    [rule] = clash.report.rules
    assert (rule.rule, rule.count, rule.message) == ("unique", 1, "the key (id_number) is already in the base version")
    assert [e.row for e in rule.examples] == [2]
    assert serving_number(demo, RESIDENTS) == 2

    appended = ingest(
        demo,
        provider,
        code=RESIDENTS,
        source=write_csv(tmp_path / "more.csv", [resident(make_id(1), "赵六")]),
        options=IngestOptions(mode=Mode.APPEND),
    )
    assert (appended.number, appended.status, appended.rows, appended.base_version) == (
        4,
        VersionStatus.PUBLISHED,
        4,
        2,
    )
    assert appended.serving
    assert names_in(demo, 4) == {**original, make_id(1): "赵六"}

    upserted = ingest(
        demo,
        provider,
        code=RESIDENTS,
        source=write_csv(tmp_path / "upsert.csv", [resident(GOOD_IDS[0], "张三丰"), resident(make_id(2), "孙七")]),
        options=IngestOptions(mode=Mode.UPSERT),
    )
    assert (upserted.number, upserted.status, upserted.rows, upserted.base_version) == (
        5,
        VersionStatus.PUBLISHED,
        5,
        4,
    )
    assert names_in(demo, 5) == {**original, make_id(1): "赵六", GOOD_IDS[0]: "张三丰", make_id(2): "孙七"}

    # Every earlier published version is still there to query, unchanged; only the newest serves.
    assert names_in(demo, 2) == original
    assert names_in(demo, 4) == {**original, make_id(1): "赵六"}
    assert serving_number(demo, RESIDENTS) == 5
    with demo.reading() as session:
        listed = service.list_versions(session, provider, code=RESIDENTS)
    assert [(v.number, v.status, v.serving) for v in listed] == [
        (5, VersionStatus.PUBLISHED, True),
        (4, VersionStatus.PUBLISHED, False),
        (3, VersionStatus.REJECTED, False),
        (2, VersionStatus.PUBLISHED, False),
        (1, VersionStatus.PUBLISHED, False),
    ]
    superseded = {v.number: v.superseded_at for v in listed}
    assert superseded[5] is None
    assert all(superseded[n] is not None for n in (1, 2, 4))


def test_replace_makes_the_file_the_whole_new_version(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    before = stored_versions(demo, RESIDENTS)[1].data
    assert before is not None
    demo_rows = len(read_parquet(before))
    assert demo_rows > 1000  # the demo's own residents

    version = ingest(
        demo, as_user("psb-admin"), code=RESIDENTS, source=write_csv(tmp_path / "r.csv", [resident(GOOD_IDS[0])])
    )

    assert (version.number, version.rows, version.base_version, version.serving) == (2, 1, None, True)
    assert len(read_parquet(before)) == demo_rows  # version 1 untouched


@pytest.mark.parametrize("mode", [Mode.APPEND, Mode.UPSERT])
def test_append_or_upsert_without_a_published_version_is_refused(
    demo: Platform, as_user: Callable[[str], Actor], hotlines: str, tmp_path: Path, mode: Mode
) -> None:
    source = write_csv(tmp_path / "hotlines.csv", [hotline("001", "01012345678")], header=HOTLINE_HEADER)

    with pytest.raises(Invalid) as refused:
        ingest(demo, as_user("psb-admin"), code=hotlines, source=source, options=IngestOptions(mode=mode))

    assert refused.value.detail == {"field": "mode"}
    assert "needs a published version" in refused.value.message
    assert {n: v.status for n, v in stored_versions(demo, hotlines).items()} == {1: "failed"}
    assert serving_number(demo, hotlines) is None
    first = ingest(demo, as_user("psb-admin"), code=hotlines, source=source)  # replace is how to start
    assert (first.number, first.status) == (2, VersionStatus.PUBLISHED)


def test_an_append_whose_base_was_replaced_while_it_ran_is_refused(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = as_user("psb-admin")
    replacement = write_csv(tmp_path / "replace.csv", [resident(i) for i in GOOD_IDS])
    real_run = pipeline.run
    raced: list[int] = []

    def racing(*args: Any, **kwargs: Any) -> pipeline.Outcome:
        outcome = real_run(*args, **kwargs)
        if not raced:  # another upload publishes a new version while the append is still at work
            raced.append(0)
            raced[0] = ingest(demo, provider, code=RESIDENTS, source=replacement).number
        return outcome

    monkeypatch.setattr(pipeline, "run", racing)
    before = lake_folders(demo)

    with pytest.raises(Conflict, match="upload again"):
        ingest(
            demo,
            provider,
            code=RESIDENTS,
            source=write_csv(tmp_path / "more.csv", [resident(make_id(1))]),
            options=IngestOptions(mode=Mode.APPEND),
        )

    versions = stored_versions(demo, RESIDENTS)
    assert raced == [3]
    assert (versions[2].status, versions[2].data) == ("failed", None)  # the append, built on version 1
    assert versions[3].status == "published"
    assert serving_number(demo, RESIDENTS) == 3
    assert names_in(demo, 3) == dict.fromkeys(GOOD_IDS, "张三")  # the replacement, not a mix of the two
    published = versions[3].data
    assert published is not None
    new_folders = {f for f in lake_folders(demo) - before if not f.startswith(".staging")}
    assert new_folders == {published.parent.relative_to(demo.settings.lake_dir).as_posix()}  # none of the append
