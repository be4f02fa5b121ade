"""Kept decisions (``sluice.gateway.decisions``): a query of a shape decided before is authorised with one read
of the policy stamp — and never after anything it depends on changed: every table a decision reads is watched
by the stamp's triggers, every column of them but the delivery counters changes the stamp, and a grant's term
ending stops a kept decision with no write at all."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlglot
from sqlalchemy import Connection, event, select, text, update
from sqlglot import exp

from sluice.catalog.models import Resource
from sluice.clock import FixedClock
from sluice.db import plain
from sluice.db.base import Base
from sluice.demo.grants import MARRIAGE_CHECK, MARRIAGE_GRANT
from sluice.errors import Forbidden, Invalid
from sluice.gateway import decisions, service
from sluice.gateway.decisions import COUNTERS, WATCHED, DecisionCache
from sluice.gateway.models import Grant
from sluice.gateway.querying import query
from sluice.gateway.schemas import QueryRequest, QueryResult
from sluice.identity.actor import Actor
from sluice.platform import Platform
from sluice.settings import Settings
from tests.sharing.conftest import as_, set_card

MIGRATION = importlib.import_module("sluice.db.migrations.versions.0012_policy_stamp")
LOOKUP = "SELECT id_number, name FROM psb.residents WHERE division_code = '{}'"


def ask(platform: Platform, username: str | None, sql: str, purpose: str = MARRIAGE_CHECK) -> QueryResult:
    actor = as_(platform, username) if username else Actor.anonymous()
    return query(platform, actor, QueryRequest(sql=sql, purpose=purpose, limit=1000))


def cache_of(platform: Platform) -> DecisionCache:
    cache = platform.sessions.kw["info"].get(decisions.INFO_KEY)
    assert isinstance(cache, DecisionCache), "the platform keeps no decisions: is the watch installed?"
    return cache


@contextmanager
def statements(platform: Platform) -> Iterator[list[str]]:
    """Every statement the platform's metadata database runs meanwhile (BEGIN and COMMIT left out)."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.split(maxsplit=1)[0].upper() not in {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}:
            seen.append(statement)

    def noted(run: Callable[..., Any]) -> Callable[..., Any]:
        def running(session: Any, statement: str, params: Any) -> Any:
            seen.append(statement)
            return run(session, statement, params)

        return running

    originals = plain.execute, plain.scalar  # plain statements bypass SQLAlchemy's events
    event.listen(platform.engine, "before_cursor_execute", listen)
    plain.execute, plain.scalar = noted(plain.execute), noted(plain.scalar)
    try:
        yield seen
    finally:
        event.remove(platform.engine, "before_cursor_execute", listen)
        plain.execute, plain.scalar = originals


def stamp_now(connection: Connection) -> int:
    return int(connection.execute(text("SELECT stamp FROM policy_stamp WHERE id = 1")).scalar_one())


# --- kept, and used -----------------------------------------------------------------------------------------


def test_a_shape_decided_before_is_authorised_with_one_read_and_the_same_answer(
    demo: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ask(demo, "civil-analyst", LOOKUP.format("110105"))
    authorising: list[list[str]] = []
    original = service.authorise_query

    def watched(*args: Any, **kwargs: Any) -> Any:
        with statements(demo) as seen:
            result = original(*args, **kwargs)
        authorising.append(seen)
        return result

    monkeypatch.setattr(service, "authorise_query", watched)
    again = ask(demo, "civil-analyst", LOOKUP.format("110105"))
    other = ask(demo, "civil-analyst", LOOKUP.format("110108"))  # same shape, another value: the grant's filter holds
    stamp, reservation = "SELECT stamp FROM policy_stamp", "UPDATE grants SET calls_used"  # the grant has a quota
    assert [[s.split(" WHERE")[0].split("=")[0].strip() for s in seen] for seen in authorising] == [
        [stamp, reservation]
    ] * 2
    assert again.rows == first.rows
    assert first.row_count > 0
    assert all(row[1][1:] == "*" * (len(row[1]) - 1) for row in first.rows)  # still masked
    assert other.row_count == 0  # outside the grant's district: nothing, decided or kept
    assert again.audit_event != first.audit_event  # every call is still recorded
    monkeypatch.undo()
    with pytest.raises(Forbidden, match="phone"):  # another shape is decided in full
        ask(demo, "civil-analyst", "SELECT phone FROM psb.residents")


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"status": "revoked"}, "revoked"),
        ({"status": "suspended"}, "suspended"),
        ({"fields_json": '["id_number", "gender"]'}, "name"),
        ({"purpose": "something else"}, "purpose"),
        ({"delivery_json": '["download"]'}, "delivery"),
    ],
)
def test_a_changed_grant_is_honoured_at_the_very_next_call(
    demo: Platform, change: dict[str, str], refusal: str
) -> None:
    sql = LOOKUP.format("110105")
    ask(demo, "civil-analyst", sql)
    ask(demo, "civil-analyst", sql)  # kept now
    with demo.transaction() as session:
        session.execute(update(Grant).where(MARRIAGE_GRANT).values(**change))
    with pytest.raises(Forbidden, match=refusal):
        ask(demo, "civil-analyst", sql)


def test_a_changed_row_filter_or_resource_is_honoured_at_the_very_next_call(demo: Platform) -> None:
    sql = "SELECT DISTINCT division_code FROM psb.residents"
    assert ask(demo, "civil-analyst", sql).rows == [["110105"]]
    with demo.transaction() as session:
        session.execute(update(Grant).where(MARRIAGE_GRANT).values(row_filter="division_code = '110108'"))
    assert ask(demo, "civil-analyst", sql).rows == [["110108"]]
    with demo.transaction() as session:
        session.execute(update(Resource).where(Resource.code == "psb.residents").values(sharing_type="not_shared"))
    with pytest.raises(Forbidden, match="no longer shared"):
        ask(demo, "civil-analyst", sql)


def test_a_grant_term_ending_stops_a_kept_decision_with_no_write(demo: Platform, clock: FixedClock) -> None:
    with demo.transaction() as session:
        session.execute(update(Grant).where(MARRIAGE_GRANT).values(valid_until=clock.now() + timedelta(hours=1)))
    sql = LOOKUP.format("110105")
    ask(demo, "civil-analyst", sql)
    clock.advance(timedelta(minutes=59))
    ask(demo, "civil-analyst", sql)  # kept, and still within the term
    clock.advance(timedelta(minutes=1))
    with pytest.raises(Forbidden, match="expired"):
        ask(demo, "civil-analyst", sql)


def test_a_grant_whose_term_begins_later_is_honoured_when_it_begins(demo: Platform, clock: FixedClock) -> None:
    start = clock.now() + timedelta(hours=2)
    with demo.transaction() as session:
        grant = session.scalars(select(Grant).where(MARRIAGE_GRANT)).one()
        session.add(
            Grant(
                **{
                    column.key: getattr(grant, column.key)
                    for column in Grant.__table__.columns
                    if column.key not in {"id", "purpose", "valid_from"}
                },
                purpose="census follow-up",
                valid_from=start,
            )
        )
    sql = LOOKUP.format("110105")
    ask(demo, "civil-analyst", sql)  # the marriage grant's decision, kept with the later grant in view
    with pytest.raises(Forbidden, match="purpose"):  # not yet valid: only the marriage grant is live
        ask(demo, "civil-analyst", sql, purpose="census follow-up")
    clock.advance(timedelta(hours=2))
    assert ask(demo, "civil-analyst", sql, purpose="census follow-up").row_count > 0
    assert ask(demo, "civil-analyst", sql).row_count > 0


def test_a_decision_made_while_the_stamp_changed_is_not_kept(demo: Platform) -> None:
    set_card(demo, "transport.parking", open_type="not_open")  # a standing grant is issued on first use
    sql = "SELECT name, capacity FROM transport.parking"
    cache = cache_of(demo)
    before = len(cache)
    ask(demo, "health-analyst", sql, purpose="ambulance routing")  # issued the grant: the stamp moved
    assert len(cache) == before
    ask(demo, "health-analyst", sql, purpose="ambulance routing")
    assert len(cache) == before + 1


def test_without_the_watch_nothing_is_kept_and_every_call_is_decided(
    demo_settings: Settings, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    opened = Platform.open(demo_settings, clock)
    try:
        with opened.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("DROP TRIGGER grants_policy_stamp ON grants"))
            else:
                connection.execute(text("DROP TRIGGER grants_policy_stamp_update"))
    finally:
        opened.close()
    platform = Platform.open(demo_settings, clock)
    try:
        assert decisions.INFO_KEY not in platform.sessions.kw["info"]
        assert "policy stamp's triggers are missing" in caplog.text  # the operator is told
        sql = LOOKUP.format("110105")
        ask(platform, "civil-analyst", sql)
        with platform.transaction() as session:
            session.execute(update(Grant).where(MARRIAGE_GRANT).values(status="revoked"))
        with pytest.raises(Forbidden, match="revoked"):
            ask(platform, "civil-analyst", sql)
    finally:
        platform.close()


# --- what the stamp watches ---------------------------------------------------------------------------------


def test_the_migration_watches_every_column_but_the_counters() -> None:
    assert set(MIGRATION.WATCHED) == set(WATCHED)
    for table in WATCHED:
        columns = {column.name for column in Base.metadata.tables[table].columns}
        counters = set(COUNTERS.get(table, ()))
        assert counters <= columns
        assert set(MIGRATION.WATCHED[table]) == columns - counters, (
            f"{table}'s stamp trigger does not name every column: recreate it in a migration"
        )


def test_every_table_a_kept_decision_reads_is_watched(
    demo: Platform, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    reads: list[tuple[list[str], bool]] = []
    put = DecisionCache.put
    real_decided = decisions.decided  # what service calls

    def decided(session: Any, question: Any, decide: Callable[[Any], Any]) -> Any:
        def watched(horizon: Any) -> Any:
            with statements(demo) as seen:
                value = decide(horizon)
            reads.append((seen, False))
            return value

        return real_decided(session, question, watched)

    def kept(self: DecisionCache, key: Any, horizon: Any, value: Any) -> None:
        reads[-1] = (reads[-1][0], True)
        put(self, key, horizon, value)

    monkeypatch.setattr(service, "decided", decided)
    monkeypatch.setattr(DecisionCache, "put", kept)
    ask(demo, "civil-analyst", LOOKUP.format("110105"))  # a grant with masks and a row filter
    ask(demo, None, "SELECT credit_code FROM amr.enterprises LIMIT 3", purpose="research")  # open data
    ask(demo, "psb-analyst", "SELECT id_number FROM psb.residents LIMIT 3", purpose="户籍管理")  # its own data
    set_card(demo, "transport.parking", open_type="not_open")
    for _ in range(2):  # a standing grant issued, then used
        ask(demo, "health-analyst", "SELECT name FROM transport.parking", purpose="ambulance routing")
    with demo.reading() as session:
        service.fields_for(session, as_(demo, "civil-analyst"), code="psb.residents", purpose=MARRIAGE_CHECK)
    read = {table for seen, was_kept in reads if was_kept for table in tables_read(seen)}
    assert read
    assert sum(was_kept for _, was_kept in reads) >= 5
    assert read <= set(WATCHED), f"kept decisions read tables the stamp does not watch: {read - set(WATCHED)}"


def tables_read(seen: list[str]) -> set[str]:
    names: set[str] = set()
    for statement in seen:
        for tree in sqlglot.parse(statement.replace("%(", "(").replace(")s", ")"), read="postgres"):
            if tree is not None:
                names |= {table.name for table in tree.find_all(exp.Table)}
    return names


def test_every_change_to_a_watched_column_changes_the_stamp_and_a_counter_does_not(demo: Platform) -> None:
    with demo.engine.connect() as connection:
        try:
            first = "(SELECT min(id) FROM resources)"
            for table, values in (
                ("serving_engines", f"SELECT id, 'spark', 'test', created_at FROM resources WHERE id = {first}"),
                (
                    "linked_sources",
                    "SELECT id, 'sqlite', 'x', 'x', NULL, 'people', '{}', 'test', created_at, created_at "
                    f"FROM resources WHERE id = {first}",
                ),
            ):
                columns = [c for c in MIGRATION.WATCHED[table] if c != "id"]
                changes_stamp(connection, f"INSERT INTO {table} ({', '.join(columns)}) {values}", f"insert {table}")
            grant_columns = [c for c in MIGRATION.WATCHED["grants"] if c != "id"]
            changes_stamp(
                connection,
                f"INSERT INTO grants ({', '.join(grant_columns)}, calls_used) "
                f"SELECT {', '.join(grant_columns)}, 0 FROM grants WHERE id = (SELECT min(id) FROM grants)",
                "insert grants",
            )
            changes_stamp(
                connection,
                "INSERT INTO organisations (code, name_zh, name_en, kind, created_at) "
                "SELECT code || '-copy', name_zh, name_en, kind, created_at FROM organisations "
                "WHERE id = (SELECT min(id) FROM organisations)",
                "insert organisations",
            )
            for table in WATCHED:
                row = connection.execute(text(f"SELECT max(id) FROM {table}")).scalar_one()
                assert row is not None, f"no row in {table} to change"
                for column in MIGRATION.WATCHED[table]:
                    changes_stamp(
                        connection, f"UPDATE {table} SET {column} = {column} WHERE id = {row}", f"{table}.{column}"
                    )
                for counter in COUNTERS.get(table, ()):
                    before = stamp_now(connection)
                    connection.execute(text(f"UPDATE {table} SET {counter} = {counter} + 1 WHERE id = {row}"))
                    assert stamp_now(connection) == before, f"the counter {table}.{counter} changed the stamp"
            for table in ("serving_engines", "linked_sources", "grants", "organisations"):  # the rows added above
                changes_stamp(
                    connection, f"DELETE FROM {table} WHERE id = (SELECT max(id) FROM {table})", f"delete {table}"
                )
        finally:
            connection.rollback()


def changes_stamp(connection: Connection, statement: str, what: str) -> None:
    before = stamp_now(connection)
    assert connection.execute(text(statement)).rowcount == 1, what
    assert stamp_now(connection) != before, f"{what} did not change the policy stamp"


def test_every_watched_table_carries_its_triggers(demo: Platform) -> None:
    with demo.engine.connect() as connection:
        assert decisions._triggers(connection) == set(WATCHED)
        if connection.dialect.name == "sqlite":
            sql: dict[str, str] = dict(
                connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
            )
            for table in WATCHED:
                assert f"AFTER INSERT ON {table}" in sql[f"{table}_policy_stamp_insert"]
                assert f"AFTER DELETE ON {table}" in sql[f"{table}_policy_stamp_delete"]
        else:
            events = connection.execute(
                text(
                    "SELECT event_object_table, string_agg(event_manipulation, ',' ORDER BY event_manipulation) "
                    "FROM information_schema.triggers WHERE trigger_name LIKE '%\\_policy\\_stamp' "
                    "GROUP BY event_object_table"
                )
            ).all()
            assert dict(events) == dict.fromkeys(WATCHED, "DELETE,INSERT,UPDATE")  # TRUNCATE is not listed here


def test_a_refusal_is_decided_in_full_every_time(demo: Platform) -> None:
    cache = cache_of(demo)
    before = len(cache)
    for _ in range(2):
        with pytest.raises(Invalid, match="unknown table"):
            ask(demo, "bank-analyst", "SELECT name FROM psb.residents")
    assert len(cache) == before


# --- found in review ----------------------------------------------------------------------------------------


def test_a_decision_is_built_from_rows_as_they_are_not_from_objects_the_session_held(demo: Platform) -> None:
    """A session that loaded the grant before another transaction revoked it must not keep, under the newer
    stamp, a decision built from its old copy (PostgreSQL's read-committed statements see the revocation)."""
    with demo.transaction() as session:
        session.execute(update(Grant).where(MARRIAGE_GRANT).values(quota=None))  # authorising writes nothing
    sql = LOOKUP.format("110105")
    actor = as_(demo, "civil-analyst")
    request = QueryRequest(sql=sql, purpose=MARRIAGE_CHECK, limit=10)
    with demo.reading() as held:
        kept = held.scalars(select(Grant).where(MARRIAGE_GRANT)).all()
        assert kept[0].status == "active"
        with demo.transaction() as other:
            other.execute(update(Grant).where(MARRIAGE_GRANT).values(status="revoked"))
        with contextlib.suppress(Forbidden):  # PostgreSQL sees the revocation at once; SQLite's snapshot is older
            service.authorise_query(held, actor, request=request)
    with pytest.raises(Forbidden, match="revoked"):
        ask(demo, "civil-analyst", sql)


def test_without_the_stamp_s_row_every_call_is_decided_in_full(demo: Platform) -> None:
    sql = LOOKUP.format("110105")
    ask(demo, "civil-analyst", sql)
    with demo.transaction() as session:
        session.execute(text("DELETE FROM policy_stamp"))
        session.execute(update(Grant).where(MARRIAGE_GRANT).values(status="revoked"))
    with pytest.raises(Forbidden, match="revoked"):
        ask(demo, "civil-analyst", sql)


def test_a_reservation_on_a_grant_revoked_meanwhile_is_refused(demo: Platform) -> None:
    with demo.transaction() as session:
        grant = session.scalars(select(Grant).where(MARRIAGE_GRANT)).one()
        grant_id, quota = grant.id, grant.calls_used + 100
        session.execute(update(Grant).where(MARRIAGE_GRANT).values(status="revoked"))
    with demo.transaction() as session, pytest.raises(Forbidden, match="revoked"):
        service._reserve_call(session, grant_id, quota, "psb.residents")


def test_a_migration_that_loses_a_trigger_is_refused_and_every_migration_moves_the_stamp(demo: Platform) -> None:
    with demo.engine.connect() as connection:
        try:
            before = stamp_now(connection)
            decisions.check_after_migrating(connection)
            assert stamp_now(connection) != before
            if connection.dialect.name == "postgresql":
                connection.execute(text("DROP TRIGGER versions_policy_stamp ON versions"))
            else:
                connection.execute(text("DROP TRIGGER versions_policy_stamp_update"))
            with pytest.raises(RuntimeError, match="versions without the policy stamp's triggers"):
                decisions.check_after_migrating(connection)
        finally:
            connection.rollback()


def test_a_disabled_trigger_is_no_watch_on_postgresql(demo: Platform) -> None:
    if demo.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no disabled triggers: a trigger there is present or dropped (tested above)")
    with demo.engine.begin() as connection:
        connection.execute(text("ALTER TABLE grants DISABLE TRIGGER grants_policy_stamp"))
    assert not decisions.watch_installed(demo.engine)
    with demo.engine.begin() as connection:
        connection.execute(text("ALTER TABLE grants ENABLE ALWAYS TRIGGER grants_policy_stamp"))
        connection.execute(text("SET LOCAL session_replication_role = replica"))  # as pg_restore may run
        before = stamp_now(connection)
        connection.execute(update(Grant).where(MARRIAGE_GRANT).values(status="suspended"))
        assert stamp_now(connection) != before  # the trigger fires for replication roles too
    assert decisions.watch_installed(demo.engine)
