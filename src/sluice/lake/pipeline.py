"""The ingestion pipeline: decode → read → match columns → validate → classify → write → profile.

Pure work on files, no metadata database: the service opens the version before and closes it after. Every
step runs in one DuckDB database kept in the ingestion's staging folder (so memory stays bounded: DuckDB
spills there), and the output is written into ``<staging>/out`` for the service to move into place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlglot import exp

from sluice.catalog.schemas import FieldSpec
from sluice.catalog.standards import Validator
from sluice.catalog.vocab import SQL_TYPES
from sluice.errors import Invalid
from sluice.lake.classify import classify
from sluice.lake.columns import match_columns
from sluice.lake.profile import profile
from sluice.lake.readers import STAGED, Staged, detect_format, stage
from sluice.lake.schemas import IngestOptions, Mode, OnError, PiiFlag, Profile, ValidationReport
from sluice.lake.storage import DATA_FILE, QUARANTINE_FILE, file_digest
from sluice.lake.validation import CHECKED, DIALECT, ROW, check, ident, results
from sluice.settings import Settings

Progress = Callable[[str], None]
Stager = Callable[[duckdb.DuckDBPyConnection, Path], Staged]
STEPS = ("read", "match", "validate", "classify", "write", "profile")


@dataclass(frozen=True)
class Plan:
    """What the service decided before the work starts."""

    code: str
    number: int
    fields: list[FieldSpec]
    validators: dict[str, Validator]  # field name → its data element's validator
    options: IngestOptions
    base: Path | None  # the base version's data file, for append and upsert
    base_number: int | None
    base_schema: list[dict[str, str]] | None


@dataclass(frozen=True)
class Outcome:
    out: Path  # folder holding data.parquet (and quarantine.parquet), unless rejected
    report: ValidationReport
    profile: Profile | None
    pii: list[PiiFlag]
    rows: int | None
    byte_size: int | None
    digest: str | None
    schema: list[dict[str, str]]
    rejected: bool


def schema_of(fields: list[FieldSpec]) -> list[dict[str, str]]:
    return [{"name": f.name, "type": f.type.value} for f in fields]


def run(
    source: Path | None,
    source_name: str,
    plan: Plan,
    *,
    work: Path,
    settings: Settings,
    progress: Progress,
    stager: Stager | None = None,
) -> Outcome:
    """Ingest ``source`` according to ``plan`` inside the staging folder ``work``. A linked source passes
    ``stager`` (which fills ``staged`` from the source database) instead of a file, and nothing is written:
    the outcome is the report and the profile of the data where it lives."""
    options = plan.options
    schema = schema_of(plan.fields)
    if options.mode is not Mode.REPLACE:
        _check_base(plan, schema)
    con = _connect(work, settings)
    try:
        progress("read")
        if stager is not None:
            staged = stager(con, work)
        else:
            assert source is not None
            with source.open("rb") as handle:
                head = handle.read(8)
            fmt = detect_format(source_name, head, options.format)
            staged = stage(
                con,
                source,
                fmt,
                work,
                encoding=options.encoding,
                sheet=options.sheet,
                xlsx_max_bytes=settings.xlsx_max_uncompressed_bytes,
            )
        progress("match")
        matched = match_columns(staged.columns, staged.column_types, plan.fields, options.mapping, plan.code)
        columns = {field: column for column, field in matched.items() if field is not None}
        progress("validate")
        base_for_keys = plan.base if options.mode is Mode.APPEND else None
        rules = check(con, plan.fields, columns, plan.validators, base_for_keys)
        broken, bad_rows = results(con, rules, plan.fields, staged.header_lines, staged.multiline_values)
        progress("classify")
        pii = classify(
            con, plan.fields, columns, sample_rows=settings.pii_sample_rows, threshold=settings.pii_threshold
        )
        accepted = staged.rows - bad_rows
        report = ValidationReport(
            rows_read=staged.rows,
            rows_accepted=accepted if not (bad_rows and options.on_error is OnError.REJECT) else 0,
            rows_quarantined=bad_rows if options.on_error is OnError.QUARANTINE else 0,
            rules=broken,
            encoding=staged.encoding,
            format=str(staged.format),
            columns=matched,
        )
        out = work / "out"
        if (bad_rows and options.on_error is OnError.REJECT) or accepted == 0:
            return Outcome(out, report, None, pii, None, None, None, schema, rejected=True)
        names = ", ".join(ident(f.name).sql(dialect=DIALECT) for f in plan.fields)
        passed = f"(SELECT {names} FROM {CHECKED} WHERE NOT _bad)"
        if stager is not None:  # a linked source: the data stays where it is; profile what passed
            progress("profile")
            linked = profile(con, passed, plan.fields, accepted)
            return Outcome(out, report, linked, pii, accepted, None, None, schema, rejected=False)
        progress("write")
        out.mkdir()
        data = out / DATA_FILE
        _write_data(con, plan, data, settings.row_group_rows)
        if bad_rows:
            _write_quarantine(con, out / QUARANTINE_FILE)
        counted = con.execute("SELECT COUNT(*) FROM read_parquet(?)", [str(data)]).fetchone()
        rows = int(counted[0]) if counted else 0
        progress("profile")
        # A replacing version holds exactly the rows that passed, already in memory (reading the file back
        # costs a third more); a version built on another has the base's rows too.
        relation = (
            passed
            if options.mode is Mode.REPLACE
            else f"read_parquet({exp.Literal.string(str(data)).sql(dialect=DIALECT)})"
        )
        version_profile = profile(con, relation, plan.fields, rows)
        return Outcome(
            out, report, version_profile, pii, rows, data.stat().st_size, file_digest(data), schema, rejected=False
        )
    finally:
        con.close()


def _connect(work: Path, settings: Settings) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()  # in memory; beyond memory_limit DuckDB spills to the temp directory
    (work / "spill").mkdir(exist_ok=True)
    con.execute(f"SET memory_limit = '{_size(settings.ingest_memory_limit)}'")
    con.execute(f"SET threads = {int(settings.ingest_threads)}")
    con.execute("SET temp_directory = ?", [str(work / "spill")])
    con.execute("SET preserve_insertion_order = true")
    return con


def _size(text: str) -> str:
    cleaned = text.strip().upper().replace(" ", "")
    if not cleaned[:-2].replace(".", "").isdigit() or cleaned[-2:] not in ("KB", "MB", "GB", "TB"):
        raise Invalid(f"SLUICE_INGEST_MEMORY_LIMIT must look like 512MB or 2GB, not {text!r}")
    return cleaned


def _check_base(plan: Plan, schema: list[dict[str, str]]) -> None:
    if plan.base is None:
        raise Invalid(
            f"{plan.options.mode.value} needs a published version of {plan.code} to build on, and there is none; "
            "load the first version with mode replace",
            field="mode",
        )
    if plan.base_schema != schema:
        raise Invalid(
            f"the fields of {plan.code} changed since version {plan.base_number}; {plan.options.mode.value} cannot "
            "mix the two: load the whole data with mode replace",
            field="mode",
        )
    if plan.options.mode is Mode.UPSERT and not any(f.primary_key for f in plan.fields):
        raise Invalid(f"upsert matches rows by the primary key, and {plan.code} declares none", field="mode")


def _write_data(con: duckdb.DuckDBPyConnection, plan: Plan, data: Path, row_group_rows: int) -> None:
    names = [f.name for f in plan.fields]
    keys = [f.name for f in plan.fields if f.primary_key]
    fresh = exp.select(*[exp.column(ident(n)) for n in names]).from_(CHECKED).where(exp.Not(this=exp.column("_bad")))
    query: exp.Query = fresh
    if plan.options.mode is not Mode.REPLACE and plan.base is not None:
        typed = [
            exp.Cast(this=exp.column(ident(f.name)), to=exp.DataType.build(SQL_TYPES[f.type], dialect=DIALECT)).as_(
                f.name
            )
            for f in plan.fields
        ]
        old = exp.select(*typed).from_(exp.func("read_parquet", exp.Literal.string(str(plan.base))).as_("b"))
        if plan.options.mode is Mode.UPSERT:
            replaced = (
                exp.select(*[exp.column(ident(k)) for k in keys]).from_(CHECKED).where(exp.Not(this=exp.column("_bad")))
            )
            old = old.where(
                exp.Not(
                    this=exp.In(
                        this=exp.Tuple(expressions=[exp.column(ident(k), table="b") for k in keys]),
                        query=exp.Subquery(this=replaced),
                    )
                )
                if len(keys) > 1
                else exp.Not(this=exp.In(this=exp.column(ident(keys[0]), table="b"), query=exp.Subquery(this=replaced)))
            )
        query = exp.union(old, fresh, distinct=False)
    ordered = exp.select(exp.Star()).from_(exp.Subquery(this=query, alias=exp.TableAlias(this=ident("v"))))
    if keys:
        ordered = ordered.order_by(*[exp.column(ident(k)) for k in keys])
    con.execute(
        f"COPY ({ordered.sql(dialect=DIALECT)}) TO '{_literal_path(data)}' "
        f"(FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE {int(row_group_rows)})"
    )


def _write_quarantine(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    flags = [
        r[0]
        for r in con.execute(f"DESCRIBE {CHECKED}").fetchall()
        if str(r[0]).startswith(("type_", "required_", "element_", "unique_"))
    ]
    broken = ", ".join(f"CASE WHEN c.{ident(f).sql(dialect=DIALECT)} THEN '{f}' END" for f in flags)
    con.execute(
        f"COPY (SELECT c.{ROW} AS _row, list_filter([{broken}], lambda x: x IS NOT NULL) AS _broken, s.* "
        f"FROM {CHECKED} c JOIN {STAGED} s ON s.rowid + 1 = c.{ROW} WHERE c._bad ORDER BY c.{ROW}) "
        f"TO '{_literal_path(target)}' (FORMAT parquet, COMPRESSION zstd)"
    )


def _literal_path(path: Path) -> str:
    return str(path).replace("'", "''")
