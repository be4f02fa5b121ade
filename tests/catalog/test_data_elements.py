"""The data element library: the built-in standards, and adding elements (pattern, code list, named validator)."""

from __future__ import annotations

import duckdb
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.catalog import service
from sluice.catalog.models import DataElement
from sluice.catalog.queries import element_validator
from sluice.catalog.schemas import DataElementCreate, FieldSpec
from sluice.errors import Conflict, Forbidden, Invalid, NotFound
from sluice.identity.actor import Actor
from tests.catalog.conftest import Actors, draft

BUILTIN = {"resident_id", "credit_code", "division_code", "sex_code", "mobile_number", "bank_card", "date"}


def test_the_library_ships_with_the_national_standards(db: Session) -> None:
    elements = {e.code: e for e in service.list_data_elements(db, Actor.anonymous())}
    assert set(elements) >= BUILTIN
    assert elements["resident_id"].standard == "GB 11643-1999"
    assert "SUBSTRING" in elements["resident_id"].sql
    assert "codes of GB/T 2260" in elements["division_code"].sql


def test_every_builtin_element_s_sql_runs_in_duckdb(db: Session) -> None:
    connection = duckdb.connect()
    for element in db.scalars(select(DataElement).where(DataElement.kind == "builtin")):
        predicate = element_validator(element).sql_text("v")
        assert connection.execute(f"SELECT {predicate} FROM (SELECT NULL::VARCHAR AS v)").fetchone() == (False,)


def test_the_manager_adds_a_pattern_element_that_fields_can_use(db: Session, who: Actors) -> None:
    created = service.create_data_element(
        db,
        who["manager"],
        data=DataElementCreate(
            code="plate_number",
            name_zh="机动车号牌",
            name_en="Vehicle plate",
            standard="GA 36-2018",
            pattern=r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z][A-HJ-NP-Z0-9]{5,6}",
        ),
    )
    assert created.kind == "pattern"
    validator = element_validator(db.scalars(select(DataElement).where(DataElement.code == "plate_number")).one())
    assert validator.check("京A12345")
    assert not validator.check("京AI2345")
    fields = [
        FieldSpec(
            name="plate",
            title_zh="号牌",
            title_en="Plate",
            primary_key=True,
            nullable=False,
            data_element="plate_number",
        )
    ]
    assert (
        service.register_resource(db, who["psb-admin"], data=draft(fields=fields)).fields[0].data_element
        == "plate_number"
    )


def test_a_code_list_and_a_named_validator(db: Session, who: Actors) -> None:
    codes = service.create_data_element(
        db,
        who["manager"],
        data=DataElementCreate(code="blood_type", name_zh="血型", name_en="Blood type", codes=["A", "B", "AB", "O"]),
    )
    assert (codes.kind, codes.codes_count) == ("code_list", 4)
    alias = service.create_data_element(
        db,
        who["manager"],
        data=DataElementCreate(
            code="owner_id", name_zh="权利人身份号码", name_en="Owner id", validator="gb11643_resident_id"
        ),
    )
    assert alias.kind == "builtin"


def test_only_the_manager_sets_standards(db: Session, who: Actors) -> None:
    data = DataElementCreate(code="x_code", name_zh="x", name_en="x", pattern="[0-9]+")
    for name in ("psb-admin", "operator", "auditor"):
        with pytest.raises(Forbidden, match="manager"):
            service.create_data_element(db, who[name], data=data)


def test_bad_elements_are_refused(db: Session, who: Actors) -> None:
    manager = who["manager"]
    with pytest.raises(Invalid, match="RE2"):
        service.create_data_element(
            db, manager, data=DataElementCreate(code="bad", name_zh="x", name_en="x", pattern=r"(?=x)x")
        )
    with pytest.raises(Invalid, match="built-in validators are"):
        service.create_data_element(
            db, manager, data=DataElementCreate(code="bad", name_zh="x", name_en="x", validator="magic")
        )
    with pytest.raises(Conflict):
        service.create_data_element(
            db, manager, data=DataElementCreate(code="date", name_zh="x", name_en="x", pattern="x")
        )
    with pytest.raises(ValueError, match="exactly one"):
        DataElementCreate(code="two", name_zh="x", name_en="x", pattern="x", codes=["x"])


def test_an_unknown_element_is_not_found(db: Session) -> None:
    with pytest.raises(NotFound):
        service.get_data_element(db, Actor.anonymous(), code="nope")
