"""Every table, gathered: importing this module registers each domain's models on ``Base.metadata``."""

from __future__ import annotations

from sqlalchemy import MetaData


def metadata() -> MetaData:
    """The complete schema (used by Alembic autogenerate and by the schema-drift test)."""
    from sluice.audit import models as _audit
    from sluice.db.base import Base
    from sluice.identity import models as _identity

    del _audit, _identity
    return Base.metadata
