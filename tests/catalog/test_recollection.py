"""The re-collection check: data that can be obtained by sharing must not be collected again. A department
registering fields whose data elements another department already shares is told what it could apply for."""

from __future__ import annotations

from sqlalchemy import select

from sluice.catalog import service
from sluice.catalog.schemas import FieldSpec
from sluice.inbox.models import Notice
from sluice.platform import Platform
from tests.catalog.conftest import draft
from tests.sharing.conftest import as_


def test_registering_shared_data_elements_names_the_resources_to_apply_for(demo: Platform) -> None:
    fields = [
        FieldSpec(
            name="applicant_id",
            title_zh="申请人身份号码",
            title_en="Applicant ID",
            data_element="resident_id",
            primary_key=True,
            nullable=False,
        ),
        FieldSpec(name="phone", title_zh="手机号", title_en="Mobile", data_element="mobile_number"),
        FieldSpec(name="born", title_zh="出生日期", title_en="Born", data_element="date"),
    ]
    with demo.transaction() as session:
        registered = service.register_resource(
            session, as_(demo, "civil-admin"), data=draft("civil.applicants", fields=fields)
        )
    hints = {h.resource: h for h in registered.could_apply_for}
    assert "psb.residents" in hints
    assert hints["psb.residents"].data_elements == ["date", "mobile_number", "resident_id"]
    assert "psb.criminal_records" not in hints  # not shared: nothing to apply for
    assert all(h.organisation != "civil" for h in hints.values())
    with demo.reading() as session:
        notice = session.scalars(select(Notice).where(Notice.target == "resource:civil.applicants")).one()
    assert "psb.residents" in notice.message


def test_a_resource_with_new_kinds_of_data_gets_no_hint(demo: Platform) -> None:
    fields = [FieldSpec(name="plate", title_zh="号牌", title_en="Plate", primary_key=True, nullable=False)]
    with demo.transaction() as session:
        registered = service.register_resource(session, as_(demo, "psb-admin"), data=draft(fields=fields))
    assert registered.could_apply_for == []
