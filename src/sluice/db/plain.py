"""Plain statements run on the session's own driver connection, inside its transaction.

For the handful of statements every governed call runs (the policy stamp, the quota reservation, the delivery
counters, the audit event and its place in the queue): SQLAlchemy's execution layers — compiled-cache lookup,
parameter processing, result wrapping, events — cost several times the statements themselves on SQLite
(measured: 0.95 ms for the delivery's four statements and their commit, 0.38 ms on the driver). Everything else
goes through SQLAlchemy as usual.

Statements are written once, with ``:name`` parameters, and translated to the driver's own style. Values are
plain Python values the driver takes as they are; a timestamp is passed through ``bind`` so it is stored exactly
as SQLAlchemy would store it (the column type's own processing, per dialect). Bypassing SQLAlchemy's events
means ``before_cursor_execute`` listeners do not see these statements.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from contextlib import closing
from typing import Any

from sqlalchemy import Column, Dialect
from sqlalchemy.orm import Session

_NAMED = re.compile(r"(?<![:\w]):(\w+)")
DRIVER_STYLES = {"pysqlite": "named", "psycopg": "pyformat"}


def execute(session: Session, statement: str, params: Mapping[str, Any]) -> int:
    """Run ``statement`` in the session's transaction; return the rows it changed (-1 when it says nothing)."""
    with closing(_cursor(session)) as cursor:
        cursor.execute(_written(statement, _style(session)), params)
        return int(cursor.rowcount)


def scalar(session: Session, statement: str, params: Mapping[str, Any]) -> Any:
    """The first column of the first row ``statement`` returns (a read, or ``… RETURNING``), or None."""
    with closing(_cursor(session)) as cursor:
        cursor.execute(_written(statement, _style(session)), params)
        row = cursor.fetchone()
        return None if row is None else row[0]


def bind(session: Session, column: Column[Any], value: Any) -> Any:
    """``value`` as SQLAlchemy would send it for ``column`` on this session's database."""
    process = _processor(session.get_bind().dialect, column)
    return value if process is None else process(value)


def _cursor(session: Session) -> Any:
    return session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


def _style(session: Session) -> str:
    driver = session.get_bind().dialect.driver
    style = DRIVER_STYLES.get(driver)
    if style is None:
        raise RuntimeError(f"no plain statements for the {driver} driver; add its parameter style")
    return style


@functools.cache
def _written(statement: str, style: str) -> str:
    return statement if style == "named" else _NAMED.sub(r"%(\1)s", statement.replace("%", "%%"))


_PROCESSORS: dict[tuple[str, str, str], Callable[[Any], Any] | None] = {}


def _processor(dialect: Dialect, column: Column[Any]) -> Callable[[Any], Any] | None:
    key = (dialect.name, column.table.name, column.name)
    if key not in _PROCESSORS:
        _PROCESSORS[key] = column.type.dialect_impl(dialect).bind_processor(dialect)
    return _PROCESSORS[key]
