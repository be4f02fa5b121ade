"""Migrations: they build exactly the models' schema, and refuse existing data that breaks the rules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from sluice.db import migrate
from sluice.db.engine import create_db_engine
from sluice.db.models import include_in_comparison, metadata


@pytest.fixture
def engine(blank_database_url: str) -> Iterator[Engine]:
    created = create_db_engine(blank_database_url)
    yield created
    created.dispose()


def test_the_migrations_build_exactly_the_schema_the_models_describe(engine: Engine) -> None:
    migrate.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_in_comparison}
        )
        differences = compare_metadata(context, metadata())
    assert differences == []
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_upgrading_twice_changes_nothing(engine: Engine) -> None:
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_existing_accounts_with_two_platform_roles_stop_the_migration_and_are_named(engine: Engine) -> None:
    migrate.upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organisations (id, code, name_zh, name_en, kind, created_at) "
                "VALUES (1, 'platform', '平台', 'Platform', 'platform', CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO users (id, username, display_name, org_id, created_at, failed_logins) VALUES "
                "(1, 'legacy-root', 'Legacy', 1, CURRENT_TIMESTAMP, 0), (2, 'fine', 'Fine', 1, CURRENT_TIMESTAMP, 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO user_roles (user_id, role) VALUES "
                "(1, 'manager'), (1, 'operator'), (1, 'auditor'), (2, 'auditor')"
            )
        )
    with pytest.raises(RuntimeError) as refused:
        migrate.upgrade(engine)
    message = str(refused.value)
    assert "legacy-root holds auditor and manager and operator" in message
    assert "fine holds" not in message  # the compliant account is not accused
    assert "Nothing was changed" in message
    assert migrate.current_revision(engine) == "0001"

    with engine.begin() as connection:
        connection.execute(text("DELETE FROM user_roles WHERE user_id = 1 AND role <> 'manager'"))
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_the_migrations_can_be_undone_and_redone(engine: Engine) -> None:
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_the_platform_role_index_has_the_condition_the_models_declare(engine: Engine) -> None:
    """Alembic's comparison ignores partial-index conditions, so check this one directly."""
    migrate.upgrade(engine)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            definition = connection.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'uq_user_roles_one_platform_role'")
            ).scalar_one()
        else:
            definition = connection.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_user_roles_one_platform_role'")
            ).scalar_one()
    normalised = " ".join(definition.replace("(", " ").replace(")", " ").replace("::text", "").split()).lower()
    for role in ("auditor", "manager", "operator"):
        assert f"'{role}'" in normalised
    for role in ("org_admin", "provider", "consumer"):
        assert f"'{role}'" not in normalised
    assert "unique" in normalised
