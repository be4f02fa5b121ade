"""Every table, gathered: importing this module registers each domain's models on ``Base.metadata``."""

from __future__ import annotations

from sqlalchemy import MetaData


def metadata() -> MetaData:
    """The complete schema (used by Alembic autogenerate and by the schema-drift test)."""
    from sluice.audit import models as _audit
    from sluice.catalog import models as _catalog
    from sluice.controls import models as _controls
    from sluice.db.base import Base
    from sluice.feedback import models as _feedback
    from sluice.gateway import models as _gateway
    from sluice.identity import models as _identity
    from sluice.inbox import models as _inbox
    from sluice.lake import models as _lake
    from sluice.objections import models as _objections
    from sluice.sharing import models as _sharing
    from sluice.sources import models as _sources

    del _audit, _catalog, _controls, _feedback, _gateway, _identity, _inbox, _lake, _objections, _sharing, _sources
    return Base.metadata


# Objects each backend adds for search (migration 0003) that the models do not describe.
BACKEND_SPECIFIC_TABLES = ("resource_fts",)
BACKEND_SPECIFIC_COLUMNS = (("resource_search", "document"),)
BACKEND_SPECIFIC_INDEXES = ("ix_resource_search_document",)


def include_in_comparison(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's include_object hook: leave out the search machinery that only one backend has."""
    if type_ == "table" and name and name.startswith(BACKEND_SPECIFIC_TABLES):
        return False
    if type_ == "column" and (getattr(getattr(obj, "table", None), "name", None), name) in BACKEND_SPECIFIC_COLUMNS:
        return False
    return not (type_ == "index" and name in BACKEND_SPECIFIC_INDEXES)
