"""The demo's sharing history: applications in every state, grants issued, narrowed, countersigned and revoked,
and objections open and answered — all made through the same use cases, by the accounts that would take each
step, at the times they would have taken them (a platform opened with a clock set in the past).

    T-30 d  civil applies for tax.payments (低保资格核查) — never answered: escalated by the sweep at T
    T-20 d  nra applies for civil.marriages; civil approves; the manager countersigns → active
    T-15 d  nra applies for psb.residents with phone; psb approves without it; countersigned → offered; accepted
    T-10 d  transport applies for health.vaccinations; health refuses, saying why
    T-8 d   health applies for transport.travel; approved, countersigned; revoked at T-2 d
    T-12…-3 d  nra objects to three marriage records: one accepted, one rejected, one still open
    T       health applies for psb.residents → pending; the deadline sweep runs
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sluice.clock import FixedClock
from sluice.gateway.querying import query
from sluice.gateway.schemas import QueryRequest
from sluice.identity.actor import Actor
from sluice.identity.authn import actor_for_user
from sluice.identity.queries import find_user
from sluice.objections import service as objections
from sluice.objections.schemas import ObjectionAnswer, ObjectionCreate
from sluice.platform import Platform
from sluice.sharing import service
from sluice.sharing.schemas import Answer, ApplicationCreate, Approval

REAL_ESTATE = "不动产登记“一网通办”：核验申请人身份和婚姻状况"
BASIS = "《不动产登记暂行条例》第二十八条；《国务院关于加快推进“互联网+政务服务”工作的指导意见》"


@dataclass
class History:
    """Acts at a moment ``days`` before the build's now, through a platform whose clock stands there."""

    platform: Platform
    at: datetime

    @contextmanager
    def on(self, days_before: float) -> Iterator[tuple[Session, Callable[[str], Actor]]]:
        past = Platform.open(self.platform.settings, clock=FixedClock(self.at - timedelta(days=days_before)))
        try:
            with past.transaction() as session:
                yield session, lambda name: actor_for_user(find_user(session, name), via="demo")
        finally:
            past.close()


def add_sharing(platform: Platform) -> int:
    """Make the sharing history; return how many applications it filed."""
    history = History(platform, platform.clock.now())
    at = history.at
    filed = 0

    def apply(days: float, who: str, resource: str, fields: list[str], purpose: str, **extra: Any) -> int:
        nonlocal filed
        with history.on(days) as (session, actor):
            data = ApplicationCreate.model_validate(
                {
                    "items": [{"resource": resource, "fields": fields, **extra.pop("item", {})}],
                    "purpose": purpose,
                    "legal_basis": extra.pop("basis", BASIS),
                    "valid_until": at + timedelta(days=365),
                    **extra,
                }
            )
            filed += 1
            return service.file_application(session, actor(who), data=data)[0].id

    def step(days: float, use: Callable[..., Any], who: str, **arguments: Any) -> Any:
        with history.on(days) as (session, actor):
            return use(session, actor(who), **arguments)

    # Escalated: never answered.
    apply(
        30, "civil-analyst", "tax.payments", ["credit_code", "amount", "period"], "最低生活保障资格核查（家庭经济状况）"
    )
    # Countersigned: the marriage registry for the one-window real-estate service.
    marriages = apply(
        20,
        "nra-analyst",
        "civil.marriages",
        ["registration_no", "kind", "husband_id", "wife_id", "registered_on"],
        REAL_ESTATE,
        quota=100_000,
    )
    step(
        19,
        service.approve_application,
        "civil-admin",
        application_id=marriages,
        approval=Approval(comment="同意，限用于不动产登记"),
    )
    step(
        18,
        service.countersign_application,
        "manager",
        application_id=marriages,
        answer=Answer(reason="重要数据，准予共享"),
    )
    # Narrowed: no phone numbers.
    residents = apply(15, "nra-analyst", "psb.residents", ["id_number", "name", "address", "phone"], REAL_ESTATE)
    narrowed = Approval(fields=["id_number", "name", "address"], comment="联系电话不属于核验所需，不予提供")
    step(14, service.approve_application, "psb-admin", application_id=residents, approval=narrowed)
    grant = step(13, service.countersign_application, "manager", application_id=residents, answer=Answer()).grant
    step(12, service.accept_grant, "nra-analyst", grant_id=grant)
    # Refused.
    vaccinations = apply(10, "transport-analyst", "health.vaccinations", ["id_number", "vaccine"], "公共交通客流规划")
    step(
        9,
        service.refuse_application,
        "health-admin",
        application_id=vaccinations,
        answer=Answer(reason="交通规划不需要个人疫苗接种信息；可申请汇总统计数据"),
    )
    # Revoked.
    travel = apply(
        8,
        "health-analyst",
        "transport.travel",
        ["trip_id", "id_number", "departed_at", "to_division"],
        "健康码行程核验",
    )
    step(7, service.approve_application, "transport-admin", application_id=travel, approval=Approval())
    travel_grant = step(6, service.countersign_application, "manager", application_id=travel, answer=Answer()).grant
    step(
        2,
        service.revoke_grant,
        "transport-admin",
        grant_id=travel_grant,
        answer=Answer(reason="健康码行程核验服务已停止"),
    )
    _objections(platform, step)
    # Pending, within its deadline.
    apply(
        0,
        "health-analyst",
        "psb.residents",
        ["id_number", "name"],
        "疫苗接种人员身份核验",
        basis="《中华人民共和国疫苗管理法》第三十六条",
    )
    with platform.transaction() as session:
        service.sweep_deadlines(session, Actor.system(via="demo"))
    return filed


def _objections(platform: Platform, step: Callable[..., Any]) -> None:
    """Three marriage records the natural resources bureau believes wrong, answered three ways."""
    owner = actor_for_user(_user(platform, "civil-analyst"), via="demo")
    rows = query(
        platform,
        owner,
        QueryRequest(
            sql="SELECT registration_no FROM civil.marriages ORDER BY registration_no LIMIT 3", purpose="婚姻登记管理"
        ),
    ).rows
    claims = [
        (12, "kind", "divorce", "申请人提交了离婚证（离字第2025-0042号）"),
        (5, "registered_on", "2019-05-20", "结婚证记载的登记日期与平台数据不一致"),
        (3, "kind", "marriage", "当事人称已复婚，提交了新结婚证"),
    ]
    answers = [
        (11, objections.accept_objection, ObjectionAnswer(reason="核实属实，将于下一版本更正")),
        (4, objections.reject_objection, ObjectionAnswer(reason="经核对婚姻登记档案，登记日期无误")),
    ]
    for index, ((days, field, value, evidence), row) in enumerate(zip(claims, rows, strict=False)):
        raised = step(
            days,
            objections.raise_objection,
            "nra-analyst",
            data=ObjectionCreate(
                resource="civil.marriages",
                record={"registration_no": row[0]},
                field=field,
                claimed_value=value,
                evidence=evidence,
            ),
        )
        if index < len(answers):
            when, use, answer = answers[index]
            step(when, use, "civil-admin", objection_id=raised.id, answer=answer)


def _user(platform: Platform, name: str) -> Any:
    with platform.reading() as session:
        return find_user(session, name)
