from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from sluice.catalog.schemas import Contact, FieldSpec, ResourceCreate
from sluice.catalog.vocab import Grade, OpenType, Sensitivity, SharingType
from sluice.identity.actor import Actor
from sluice.identity.authn import actor_for_user
from sluice.identity.queries import find_user
from sluice.platform import Platform


def draft(code: str = "psb.vehicles", **changes: object) -> ResourceCreate:
    """A valid resource description to start from; ``changes`` override any of its fields."""
    values: dict[str, object] = {
        "code": code,
        "title_zh": "机动车登记信息",
        "title_en": "Registered motor vehicles",
        "abstract_zh": "全市机动车登记信息，包括号牌、车主和登记日期。",
        "abstract_en": "Motor vehicles registered in the city: plate, owner and date.",
        "tags": ["交通", "车辆"],
        "contact": Contact(name="PSB data office", email="data@psb.gov.example"),
        "sharing_type": SharingType.CONDITIONAL,
        "open_type": OpenType.NOT_OPEN,
        "grade": Grade.GENERAL,
        "fields": [
            FieldSpec(name="plate", title_zh="号牌号码", title_en="Plate", primary_key=True, nullable=False),
            FieldSpec(
                name="owner_id",
                title_zh="车主身份号码",
                title_en="Owner's identity number",
                data_element="resident_id",
                sensitivity=Sensitivity.SENSITIVE,
            ),
            FieldSpec(name="registered_on", title_zh="登记日期", title_en="Registered on", data_element="date"),
        ],
    }
    values.update(changes)
    return ResourceCreate.model_validate(values)


class Actors:
    def __init__(self, session: Session) -> None:
        self._session = session

    def __getitem__(self, username: str) -> Actor:
        return actor_for_user(find_user(self._session, username), via="test")


@pytest.fixture
def db(demo: Platform) -> Iterator[Session]:
    """A session on the demo government (which has its catalog published)."""
    with demo.sessions() as session:
        yield session
        session.commit()


@pytest.fixture
def who(db: Session) -> Actors:
    return Actors(db)
