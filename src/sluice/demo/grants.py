"""The demo's grants. Fixed: docs and tests rely on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from sluice.gateway.masks import MaskKind
from sluice.gateway.models import Grant
from sluice.gateway.schemas import Delivery, GrantCreate, MaskSpec
from sluice.identity.actor import Actor
from sluice.sharing import service

MARRIAGE_CHECK = "marriage registration verification"
# Which row is that grant (tests change it directly): the one recorded at the shell for this purpose.
MARRIAGE_GRANT = (Grant.purpose == MARRIAGE_CHECK) & Grant.application_id.is_(None)
DEMO_GRANTS = (
    # The civil affairs bureau checks the identity of people registering marriages in Chaoyang district:
    # identity numbers keep region and birth year, names keep the surname; no phone, no address.
    GrantCreate(
        resource="psb.residents",
        assignee="civil",
        fields=["id_number", "name", "gender", "birth_date", "division_code"],
        masks={"id_number": MaskSpec(kind=MaskKind.ID_REGION_BIRTH_YEAR), "name": MaskSpec(kind=MaskKind.NAME_SURNAME)},
        row_filter="division_code = '110105'",
        purpose=MARRIAGE_CHECK,
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
        valid_until=datetime(2026, 1, 2, tzinfo=UTC),
        quota=100_000,
        delivery=[Delivery.QUERY, Delivery.DOWNLOAD],
    ),
)


def add_grants(session: Session, at: datetime) -> int:
    """Record the demo grants, valid for a year from ``at``."""
    manager = Actor.system(via="demo")
    for grant in DEMO_GRANTS:
        service.create_grant(
            session,
            manager,
            data=grant.model_copy(
                update={"valid_from": at - timedelta(days=1), "valid_until": at + timedelta(days=365)}
            ),
        )
    return len(DEMO_GRANTS)
