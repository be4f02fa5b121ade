"""Bad catalog entries: each refused with a clear error naming the field and the rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session

from sluice.catalog import service
from sluice.catalog.schemas import FieldSpec
from sluice.catalog.vocab import Grade, OpenType, Sensitivity, SharingType
from sluice.errors import Invalid
from tests.catalog.conftest import Actors, draft

PLAIN_FIELDS = [FieldSpec(name="item", title_zh="事项", title_en="Item", primary_key=True, nullable=False)]


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"sharing_type": SharingType.NOT_SHARED}, "legal_basis", "not_shared_needs_legal_basis"),
        ({"sharing_type": SharingType.NOT_SHARED, "legal_basis": "   "}, "legal_basis", "not_shared_needs_legal_basis"),
        (
            {"grade": Grade.CORE, "open_type": OpenType.CONDITIONAL, "licence": "CC-BY-4.0"},
            "open_type",
            "core_never_open",
        ),
        ({"grade": Grade.CORE, "sharing_type": SharingType.UNCONDITIONAL}, "sharing_type", "core_never_unconditional"),
        ({"open_type": OpenType.OPEN, "fields": PLAIN_FIELDS}, "licence", "open_needs_licence"),
        ({"open_type": OpenType.OPEN, "licence": "CC-BY-4.0"}, "fields", "open_without_personal_data"),
        ({"fields": [*PLAIN_FIELDS, *PLAIN_FIELDS]}, "fields", "unique_names"),
        (
            {"fields": [FieldSpec(name="k", title_zh="键", title_en="Key", primary_key=True)]},
            "fields[0].nullable",
            "primary_key_not_null",
        ),
        (
            {"fields": [FieldSpec(name="k", title_zh="键", title_en="Key", data_element="passport_no")]},
            "fields[0].data_element",
            "unknown_data_element",
        ),
    ],
)
def test_bad_descriptions_are_refused_naming_field_and_rule(
    db: Session, who: Actors, changes: dict[str, object], field: str, rule: str
) -> None:
    with pytest.raises(Invalid) as refused:
        service.register_resource(db, who["psb-admin"], data=draft(**changes))  # type: ignore[arg-type]
    assert refused.value.detail["field"] == field
    assert refused.value.detail["rule"] == rule


def test_the_personal_fields_are_named_when_open_data_would_carry_them(db: Session, who: Actors) -> None:
    with pytest.raises(Invalid, match="owner_id is marked personal"):
        service.register_resource(db, who["psb-admin"], data=draft(open_type=OpenType.OPEN, licence="CC-BY-4.0"))


@pytest.mark.parametrize(
    "code", ["residents", "PSB.residents", "psb.", "psb.Residents", "psb.res-idents", "psb.a.b", ".x"]
)
def test_malformed_codes_are_refused_with_the_rule(code: str) -> None:
    with pytest.raises(ValidationError, match="not a valid resource code"):
        draft(code)


def test_a_resource_needs_fields() -> None:
    with pytest.raises(ValidationError, match="fields"):
        draft(fields=[])


def test_field_names_are_column_names() -> None:
    with pytest.raises(ValidationError, match="not a valid field name"):
        FieldSpec(name="Owner ID", title_zh="x", title_en="x")


def test_a_valid_core_resource_is_accepted(db: Session, who: Actors) -> None:
    created = service.register_resource(
        db, who["psb-admin"], data=draft(grade=Grade.CORE, sharing_type=SharingType.CONDITIONAL)
    )
    assert created.grade is Grade.CORE


def test_sensitivity_is_kept(db: Session, who: Actors) -> None:
    created = service.register_resource(db, who["psb-admin"], data=draft())
    assert [f.sensitivity for f in created.fields] == [Sensitivity.NONE, Sensitivity.SENSITIVE, Sensitivity.NONE]
