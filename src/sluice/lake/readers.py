"""Reading an upload into DuckDB as text, exactly as it is: every column VARCHAR, nothing guessed.

Each reader fills the table ``staged`` (one VARCHAR column per file column, in file order, insertion order
kept so ``rowid`` + 1 is the record number) and says how records map to lines. Types are applied later,
from the catalog's fields: guessing would turn division codes and phone numbers into numbers and lose their
leading zeros.
"""

from __future__ import annotations

import csv
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import duckdb

from sluice.errors import Invalid
from sluice.lake.encoding import Decoded, detect_and_decode
from sluice.lake.schemas import SourceFormat

STAGED = "staged"
MAX_PARSE_EXAMPLES = 20
SUFFIXES = {
    ".csv": SourceFormat.CSV,
    ".txt": SourceFormat.CSV,
    ".tsv": SourceFormat.TSV,
    ".tab": SourceFormat.TSV,
    ".xlsx": SourceFormat.XLSX,
    ".json": SourceFormat.JSON,
    ".ndjson": SourceFormat.NDJSON,
    ".jsonl": SourceFormat.NDJSON,
    ".parquet": SourceFormat.PARQUET,
}
ZIP_MAGIC = b"PK\x03\x04"
PARQUET_MAGIC = b"PAR1"
XLSX_MAX_RATIO = 200  # uncompressed / compressed, per member: beyond it, a zip bomb


@dataclass(frozen=True)
class Staged:
    """What a reader left in DuckDB."""

    format: str  # a SourceFormat, or "linked" for a linked source
    columns: list[str]  # file columns, in order
    column_types: dict[str, str]  # the file's own types (Parquet); VARCHAR for text formats
    rows: int
    encoding: str | None
    header_lines: int | None  # lines before the first record (text formats); None if records are not lines
    multiline_values: bool  # some value holds a line break (then a record can span lines)


def detect_format(name: str, head: bytes, declared: SourceFormat | None) -> SourceFormat:
    """The upload's format: the declared one, else from its name, checked against its first bytes."""
    fmt = declared or SUFFIXES.get(Path(name).suffix.lower())
    if fmt is None:
        raise Invalid(
            f"cannot tell the format of {name!r}: name it .csv, .tsv, .xlsx, .json, .ndjson or .parquet, or say "
            "the format",
            field="format",
        )
    if fmt is SourceFormat.XLSX and not head.startswith(ZIP_MAGIC):
        raise Invalid(f"{name!r} is not an Excel workbook (.xlsx); old .xls files must be saved as .xlsx first")
    if fmt is SourceFormat.PARQUET and not head.startswith(PARQUET_MAGIC):
        raise Invalid(f"{name!r} is not a Parquet file")
    if fmt not in (SourceFormat.XLSX, SourceFormat.PARQUET) and head.startswith((ZIP_MAGIC, PARQUET_MAGIC)):
        raise Invalid(f"{name!r} is a binary file (zip or Parquet), not {fmt.value.upper()} text")
    return fmt


def stage(
    con: duckdb.DuckDBPyConnection,
    source: Path,
    fmt: SourceFormat,
    work_dir: Path,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    xlsx_max_bytes: int = 1024**3,
) -> Staged:
    """Read ``source`` into the table ``staged``; refuse files that cannot be read, saying where and why."""
    if source.stat().st_size == 0:
        raise Invalid("the file is empty: it has no header and no rows")
    if fmt is SourceFormat.PARQUET:
        return _stage_parquet(con, source)
    if fmt is SourceFormat.XLSX:
        text = _xlsx_to_csv(source, work_dir, sheet, xlsx_max_bytes)
        staged = _stage_csv(con, text, ",", None)
        return Staged(fmt, staged.columns, staged.column_types, staged.rows, None, 1, staged.multiline_values)
    if fmt in (SourceFormat.CSV, SourceFormat.TSV):
        delimiter = "\t" if fmt is SourceFormat.TSV else ","
        decoded = detect_and_decode(source, work_dir, encoding, reader_checks_utf8=True, defer_mixing_check=True)
        try:
            staged = _stage_alongside(con, decoded, delimiter)
        except _NotUtf8:  # the reader met a bad sequence past the head: the whole check says where, or transcodes
            decoded = detect_and_decode(source, work_dir, encoding, defer_mixing_check=True)
            staged = _stage_alongside(con, decoded, delimiter)
        return Staged(
            fmt, staged.columns, staged.column_types, staged.rows, decoded.encoding, 1, staged.multiline_values
        )
    decoded = detect_and_decode(source, work_dir, encoding)
    return _stage_json(con, decoded.path, fmt, decoded.encoding)


def _stage_alongside(con: duckdb.DuckDBPyConnection, decoded: Decoded, delimiter: str) -> Staged:
    """Stage the decoded CSV while, in a thread, the decoder's deferred check of the upload runs: DuckDB
    reads without the interpreter, so the two overlap. A refusal by the check wins, and drops what was
    staged."""
    if decoded.mixing_check is None:
        return _stage_csv(con, decoded.path, delimiter, decoded.encoding, verified=decoded.verified)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sluice-mixing-check") as pool:
        mixing = pool.submit(decoded.mixing_check)
        try:
            staged = _stage_csv(con, decoded.path, delimiter, decoded.encoding, verified=decoded.verified)
        except BaseException as failed:
            found = mixing.exception()  # wait for the thread either way
            if isinstance(found, Invalid) and isinstance(failed, Exception):
                _drop_csv_tables(con)
                raise found from None  # mixed encodings explain the rest: say that first, as before staging
            raise
        try:
            mixing.result()
        except Invalid:
            _drop_csv_tables(con)
            raise
    return staged


class _NotUtf8(Exception):
    """A file handed over unverified (``Decoded.verified`` False) holds a sequence that is not UTF-8."""


def _stage_csv(
    con: duckdb.DuckDBPyConnection, path: Path, delimiter: str, encoding: str | None, *, verified: bool = True
) -> Staged:
    # The header is read here, not sniffed by DuckDB: its sniffer gives up on a file with ragged rows before
    # the rejects table can say which lines they are.
    try:
        columns = _csv_header(path, delimiter)
    except UnicodeDecodeError:
        if not verified:
            raise _NotUtf8 from None
        raise
    _check_header(columns)
    try:
        con.execute(
            f"CREATE TABLE {STAGED} AS SELECT * FROM read_csv(?, header = true, all_varchar = true, delim = ?, "
            "quote = '\"', escape = '\"', strict_mode = true, null_padding = false, store_rejects = true, "
            "rejects_table = 'parse_rejects', rejects_scan = 'parse_scans', columns = ?)",
            [str(path), delimiter, dict.fromkeys(columns, "VARCHAR")],
        )
    except duckdb.Error as exc:
        if not verified:  # perhaps not UTF-8 after all: the whole check says, before anything else is blamed
            _drop_csv_tables(con)
            raise _NotUtf8 from None
        raise Invalid(f"the file cannot be read: {_first_line(exc)}") from None
    if not verified and con.execute(
        "SELECT EXISTS (SELECT 1 FROM parse_rejects WHERE error_type = 'INVALID ENCODING')"
    ).fetchone() == (True,):
        _drop_csv_tables(con)
        raise _NotUtf8
    # One row per record (DuckDB reports a short one once per missing column). DuckDB's ``line`` counts
    # records, not lines: after a value holding a line break they differ, so the line is found from the byte
    # position of the record in the file.
    rejects = con.execute(
        "SELECT line, first(error_type ORDER BY column_idx), first(error_message ORDER BY column_idx), "
        "first(csv_line ORDER BY column_idx), min(line_byte_position) FROM parse_rejects GROUP BY line "
        "ORDER BY line LIMIT ?",
        [MAX_PARSE_EXAMPLES],
    ).fetchall()
    if rejects:
        total = con.execute("SELECT COUNT(DISTINCT line) FROM parse_rejects").fetchone()
        at = _lines_at(path, [int(r[4]) for r in rejects])
        lines = ", ".join(str(at[int(r[4])]) for r in rejects)
        raise Invalid(
            f"{total[0] if total else len(rejects)} line(s) cannot be read as records of {len(columns)} columns "
            f"(first at lines {lines}): {rejects[0][2]}; check the delimiter and the quoting of values that contain "
            "it",
            rule="parse",
            examples=[{"line": at[int(r[4])], "error": r[1], "text": r[3][:200]} for r in rejects],
        )
    # A line break inside a value needs quotes around it: a file without a quote character has none.
    return _finish(con, SourceFormat.CSV, columns, encoding, may_hold_breaks=_holds_byte(path, b'"'))


def _drop_csv_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in (STAGED, "parse_rejects", "parse_scans"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _stage_json(con: duckdb.DuckDBPyConnection, path: Path, fmt: SourceFormat, encoding: str) -> Staged:
    layout = "newline_delimited" if fmt is SourceFormat.NDJSON else "array"
    try:
        described = con.execute(
            "DESCRIBE SELECT * FROM read_json(?, format = ?, sample_size = -1)", [str(path), layout]
        ).fetchall()
        columns = [row[0] for row in described]
        _check_header(columns)
        con.execute(
            f"CREATE TABLE {STAGED} AS SELECT * FROM read_json(?, format = ?, columns = ?)",
            [str(path), layout, dict.fromkeys(columns, "VARCHAR")],
        )
    except duckdb.Error as exc:
        raise Invalid(f"the file is not valid {fmt.value.upper()}: {_first_line(exc)}") from None
    staged = _finish(con, fmt, columns, encoding)
    header = 0 if fmt is SourceFormat.NDJSON else None
    # A line break inside an NDJSON value is written as \n: each record is still exactly one line.
    multiline = staged.multiline_values and fmt is not SourceFormat.NDJSON
    return Staged(fmt, columns, staged.column_types, staged.rows, encoding, header, multiline)


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> Staged:
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise Invalid(f"the file is not a readable Parquet file: {_first_line(exc)}") from None
    columns = [row[0] for row in described]
    types = {row[0]: str(row[1]) for row in described}
    _check_header(columns)
    casts = ", ".join(f"CAST({_quote(c)} AS VARCHAR) AS {_quote(c)}" for c in columns)
    con.execute(f"CREATE TABLE {STAGED} AS SELECT {casts} FROM read_parquet(?)", [str(path)])
    staged = _finish(con, SourceFormat.PARQUET, columns, None)
    return Staged(SourceFormat.PARQUET, columns, types, staged.rows, None, None, False)


def _finish(
    con: duckdb.DuckDBPyConnection,
    fmt: SourceFormat,
    columns: list[str],
    encoding: str | None,
    *,
    may_hold_breaks: bool = True,
) -> Staged:
    counted = con.execute(f"SELECT COUNT(*) FROM {STAGED}").fetchone()
    rows = int(counted[0]) if counted else 0
    if rows == 0:
        raise Invalid("the file has a header but no rows: there is nothing to load")
    if not may_hold_breaks:
        return Staged(fmt, columns, dict.fromkeys(columns, "VARCHAR"), rows, encoding, 1, False)
    breaks = " OR ".join(f"STRPOS({_quote(c)}, chr(10)) > 0" for c in columns)
    found = con.execute(f"SELECT EXISTS (SELECT 1 FROM {STAGED} WHERE {breaks})").fetchone()
    return Staged(fmt, columns, dict.fromkeys(columns, "VARCHAR"), rows, encoding, 1, bool(found and found[0]))


def _holds_byte(path: Path, byte: bytes) -> bool:
    """Whether ``byte`` occurs in the file (a streamed ``memchr``: about 5 GB/s)."""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            if byte in chunk:
                return True
    return False


def _lines_at(path: Path, offsets: list[int]) -> dict[int, int]:
    """The line (from 1) holding each byte offset of ``path``, in one streamed pass."""
    wanted = sorted(set(offsets))
    found: dict[int, int] = {}
    lines, position, index = 1, 0, 0
    with path.open("rb") as handle:
        while index < len(wanted) and (chunk := handle.read(1 << 20)):
            end = position + len(chunk)
            while index < len(wanted) and wanted[index] < end:
                found[wanted[index]] = lines + chunk.count(b"\n", 0, wanted[index] - position)
                index += 1
            lines += chunk.count(b"\n")
            position = end
    found.update(dict.fromkeys(wanted[index:], lines))
    return found


def _csv_header(path: Path, delimiter: str) -> list[str]:
    """The first record of a UTF-8 CSV/TSV file (the header), read the way DuckDB will read the rest."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            return next(csv.reader(handle, delimiter=delimiter, quotechar='"', doublequote=True), [])
        except csv.Error as exc:
            raise Invalid(f"the header of the file cannot be read: {exc}") from None


def _check_header(columns: list[str]) -> None:
    if not columns:
        raise Invalid("the file has no columns")
    blank = [i + 1 for i, c in enumerate(columns) if not str(c).strip()]
    if blank:
        raise Invalid(f"column(s) {blank} have no name in the header; name every column", columns=blank)
    doubled = sorted({c for c in columns if columns.count(c) > 1})
    if doubled:
        raise Invalid(
            f"column(s) {doubled} appear more than once in the header; name every column once", columns=doubled
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# --- Excel ---------------------------------------------------------------------------------------------


def _xlsx_to_csv(source: Path, work_dir: Path, sheet: str | None, max_bytes: int) -> Path:
    """Check the workbook (no zip bomb, no external links, no macros), then write its sheet as UTF-8 CSV."""
    _check_workbook(source, max_bytes)
    import openpyxl

    try:
        book = openpyxl.load_workbook(source, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise Invalid(f"the workbook cannot be opened: {_first_line(exc)}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise Invalid(f"the workbook has no sheet {sheet!r}; its sheets: {', '.join(book.sheetnames)}")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        target = work_dir / "sheet.csv"
        with target.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            for row in ws.iter_rows(values_only=True):
                if row and any(cell is not None for cell in row):
                    writer.writerow([_cell_text(cell) for cell in row])
    finally:
        book.close()
    return target


def _check_workbook(source: Path, max_bytes: int) -> None:
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise Invalid("the workbook is damaged (not a valid .xlsx zip container)") from None
    with archive:
        members = archive.infolist()
        total = sum(m.file_size for m in members)
        if total > max_bytes:
            raise Invalid(
                f"the workbook expands to {total} bytes, over the limit of {max_bytes}; split it or upload CSV",
                rule="zip_bomb",
            )
        for member in members:
            if member.compress_size and member.file_size / member.compress_size > XLSX_MAX_RATIO:
                raise Invalid(
                    f"the workbook member {member.filename!r} expands {member.file_size // member.compress_size}-fold:"
                    " refused as a possible zip bomb; upload CSV instead",
                    rule="zip_bomb",
                )
        names = [m.filename for m in members]
        if any(n.startswith("xl/externalLinks/") for n in names):
            raise Invalid(
                "the workbook links to other workbooks (external links); paste the values in and remove the links",
                rule="external_links",
            )
        if any(n.lower().endswith("vbaproject.bin") for n in names):
            raise Invalid("the workbook contains macros; save it as a plain .xlsx workbook", rule="macros")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
