"""The metadata database: SQLAlchemy base, engine, sessions and Alembic migrations."""
