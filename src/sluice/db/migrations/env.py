"""Alembic environment: always run with a connection handed in by ``sluice.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from sluice.db.models import include_in_comparison, metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_in_comparison,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `sluice migrate`, which hands Alembic a connection")
run_migrations(connection)
