"""Use cases of the gateway: the three steps of a governed query — authorise (rules 1–3 and 6: parse, check, resolve grants, reserve a call,
rewrite), then, after the engine ran with no transaction open, record the delivery or the refusal.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session
from sqlglot import exp, parse_one

from sluice.audit.log import record
from sluice.catalog.models import Resource
from sluice.catalog.queries import serving_description, visible_named
from sluice.catalog.schemas import ResourceDescription
from sluice.catalog.vocab import SQL_TYPES, Grade, OpenType, SharingType
from sluice.db import plain
from sluice.db.session import now, settings_of, signer_of
from sluice.errors import Exhausted, Forbidden, Invalid, NotFound, SluiceError
from sluice.gateway import permissions as can
from sluice.gateway.decisions import Horizon, asker, decided
from sluice.gateway.engines import Target
from sluice.gateway.models import Grant
from sluice.gateway.placement import place
from sluice.gateway.plans import PLANS, plan_key
from sluice.gateway.policy import DIALECT, check_tree
from sluice.gateway.receipts import Receipt, sign
from sluice.gateway.rewrite import GrantedView, Masking, check_physical, govern
from sluice.gateway.schemas import Delivery, MaskSpec, QueryRequest
from sluice.gateway.shapes import Shape, shape_of
from sluice.gateway.terms import default_masks
from sluice.identity.actor import Actor
from sluice.identity.roles import Role
from sluice.sharing.standing import issue_standing_grant, may_stand
from sluice.usecase import use_case


@dataclass(frozen=True)
class Authorised:
    """A query cleared to run: the governed SQL (in its engine's dialect), where it runs, and what the record
    of its delivery needs."""

    sql: str
    target: Target
    query_digest: str
    resources: list[str]
    grants: list[int]
    fields: dict[str, list[str]]
    masks: dict[str, dict[str, str]]
    purpose: str
    count_on_delivery: tuple[int, ...] = ()  # grants without a quota: their call is counted with the answer
    delivery: Delivery = Delivery.QUERY


@dataclass(frozen=True)
class RowFields:
    """What a page of rows may filter and sort on, and the fields that order pages (the key when the caller sees
    it whole, else every field)."""

    fields: list[str]
    keys: list[str]


# --- a governed query --------------------------------------------------------------------------------------


@use_case(can.can_query)
def authorise_query(
    session: Session, actor: Actor, *, request: QueryRequest, delivery: Delivery = Delivery.QUERY
) -> Authorised:
    """Check the query and the caller's right to every resource it reads; reserve one call of each grant's
    quota; return the rewritten query. Refusals name the resource and what is missing. The decision (all but
    the reservation and the query's own values) is kept while nothing it read changed (``decisions``)."""
    shape = shape_of(request.sql)
    question = ("query", asker(actor), shape.template, _purpose_key(request.purpose), delivery)
    decision = decided(
        session,
        question,
        lambda horizon: _decide(session, actor, shape=shape, request=request, delivery=delivery, horizon=horizon),
    )
    for grant_id, quota, code in decision.metered:
        _reserve_call(session, grant_id, quota, code)  # before it runs: two calls cannot both take the last one
    return Authorised(
        sql=shape.fill(decision.plan, decision.target.dialect),
        target=decision.target,
        query_digest=shape.digest,
        resources=list(decision.resources),
        grants=list(decision.grants),
        fields={code: list(names) for code, names in decision.fields},
        masks={code: dict(masks) for code, masks in decision.masks},
        purpose=request.purpose.strip(),
        count_on_delivery=decision.unmetered,
        delivery=delivery,
    )


@dataclass(frozen=True)
class _Decision:
    """What authorising a query of one shape decided: its governed plan (values still marked), where it runs,
    the grants it runs under — each metered one with its quota — and what the audit event will name."""

    plan: str
    target: Target
    resources: tuple[str, ...]
    grants: tuple[int, ...]
    metered: tuple[tuple[int, int, str], ...]  # (grant, quota, resource): a call reserved at every call
    unmetered: tuple[int, ...]  # counted when answered: the authorising transaction stays read-only
    fields: tuple[tuple[str, tuple[str, ...]], ...]
    masks: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


def _decide(
    session: Session, actor: Actor, *, shape: Shape, request: QueryRequest, delivery: Delivery, horizon: Horizon
) -> _Decision:
    known = visible_named(session, actor, {code for code, _ in shape.tables})
    checked = check_tree(shape.tree, shape.tables, known.__contains__)
    lake_dir = settings_of(session).lake_dir
    views: dict[str, GrantedView] = {}
    used: list[int] = []
    metered: list[tuple[int, int, str]] = []
    unmetered: list[int] = []
    target: Target | None = None
    for code in sorted(checked.resources):
        resource = known[code]
        view, grant, placed = _view_for(
            session, actor, resource, request.purpose, lake_dir, delivery=delivery, horizon=horizon
        )
        target = _together(target, placed, code, views)
        views[code] = view
        if grant is not None:
            if grant.quota is not None:
                metered.append((grant.id, grant.quota, code))
            else:
                unmetered.append(grant.id)
            used.append(grant.id)
    assert target is not None  # check_query refuses a query that reads no resource
    dialect = target.dialect

    bulk = delivery is Delivery.DOWNLOAD  # a whole export: masks in the form that runs fastest over many rows

    def rewrite() -> str:
        governed = govern(checked, views, dialect, bulk=bulk).sql(dialect=dialect.name, comments=False)
        check_physical(governed, dialect, views)
        return governed

    return _Decision(
        plan=PLANS.get_or_make(plan_key(shape.template, dialect.name, views, bulk=bulk), rewrite),
        target=target,
        resources=tuple(sorted(checked.resources)),
        grants=tuple(used),
        metered=tuple(metered),
        unmetered=tuple(unmetered),
        fields=tuple((code, tuple(view.fields)) for code, view in views.items()),
        masks=tuple((code, tuple((f, m.kind.value) for f, m in view.masks.items())) for code, view in views.items()),
    )


@use_case(can.can_query)
def fields_for(session: Session, actor: Actor, *, code: str, purpose: str) -> RowFields:
    """The fields of ``code`` the caller would see under its grant for ``purpose`` (what /rows may filter on),
    and what orders its pages. Nothing is reserved or recorded: the query is checked again, fully, when it runs."""
    question = ("fields", asker(actor), code, _purpose_key(purpose))
    return decided(session, question, lambda horizon: _fields(session, actor, code, purpose, horizon))


def _fields(session: Session, actor: Actor, code: str, purpose: str, horizon: Horizon) -> RowFields:
    resource = visible_named(session, actor, {code}).get(code)
    if resource is None:
        raise NotFound(f"no resource {code!r} that you may see", resource=code)
    description = serving_description(session, resource)
    names = [f.name for f in description.fields]
    key = [f.name for f in description.fields if f.primary_key]
    if _sees_whole(actor, resource):
        return RowFields(names, key or names)
    grant = _active_grant(session, actor, resource, purpose, issue=False, horizon=horizon)
    if grant is None:  # a standing grant will be issued when the page is asked for: every field, sensitive masked
        granted, masked = set(names), set(default_masks(description.fields, names))
    else:
        granted, masked = set(json.loads(grant.fields_json)), set(json.loads(grant.masks_json))
    shown = [name for name in names if name in granted]
    unique = bool(key) and all(name in granted and name not in masked for name in key)
    return RowFields(shown, key if unique else shown)  # a masked key is no longer unique: order by every field


@use_case(can.can_query)
def record_delivery(
    session: Session,
    actor: Actor,
    *,
    authorised: Authorised,
    rows: int,
    truncated: bool,
    result_digest: str,
    seconds: float,
) -> Receipt:
    """One audit event per delivered answer — who, under which grants, what was touched, what was returned —
    and the signed receipt naming it."""
    count_use = COUNT_DOWNLOAD if authorised.delivery is Delivery.DOWNLOAD else COUNT_USE
    for code in authorised.resources:  # plain statements (``db.plain``): this runs at every call
        plain.execute(session, count_use, {"code": code})
    for grant_id in authorised.count_on_delivery:
        plain.execute(session, COUNT_CALL, {"grant_id": grant_id})
    event = record(
        session,
        actor,
        "gateway.query",
        ",".join(f"resource:{c}" for c in authorised.resources),
        grants=authorised.grants,
        purpose=authorised.purpose,
        fields=authorised.fields,
        masks=authorised.masks,
        rows=rows,
        truncated=truncated,
        query_digest=authorised.query_digest,
        result_digest=result_digest,
        seconds=round(seconds, 4),
    )
    at = now(session)
    return sign(
        signer_of(session),
        {
            "audit_event": event.id,
            "at": at.isoformat(),
            "actor": actor.username,
            "organisation": actor.org_code,
            "grants": authorised.grants,
            "resources": authorised.resources,
            "purpose": authorised.purpose,
            "rows": rows,
            "query_digest": authorised.query_digest,
            "result_digest": result_digest,
        },
    )


@use_case(can.can_query)
def stopped_grant(session: Session, actor: Actor, *, grants: list[int]) -> str | None:
    """Why one of ``grants`` no longer allows use (suspended, revoked, expired), or None while all still do."""
    at = now(session)
    for grant in session.scalars(select(Grant).where(Grant.id.in_(grants)).order_by(Grant.id)):
        if grant.status != "active":
            return f"grant {grant.id} was {grant.status}"
        if at >= grant.valid_until:
            return f"grant {grant.id} expired"
    return None


@use_case(can.can_query)
def record_stop(session: Session, actor: Actor, *, authorised: Authorised, sent: int, reason: str) -> None:
    """A delivery cut short because its grant stopped while it streamed: the log says how much was sent."""
    record(
        session,
        actor,
        "gateway.stop",
        ",".join(f"resource:{c}" for c in authorised.resources),
        grants=authorised.grants,
        purpose=authorised.purpose,
        query_digest=authorised.query_digest,
        bytes_sent=sent,
        reason=reason,
    )


@use_case(can.can_query)
def record_refusal(session: Session, actor: Actor, *, request: QueryRequest, error: SluiceError) -> None:
    """Denied attempts are evidence too (the auditor's console lists them)."""
    digest = hashlib.sha256(request.sql.encode("utf-8")).hexdigest()
    record(
        session,
        actor,
        "gateway.refuse",
        "gateway",
        purpose=request.purpose[:200],
        query_digest=digest,
        error=error.code,
        message=error.message[:500],
    )


# --- helpers ---------------------------------------------------------------------------------------------


def _view_for(
    session: Session,
    actor: Actor,
    resource: Resource,
    purpose: str,
    lake_dir: Path,
    *,
    delivery: Delivery = Delivery.QUERY,
    horizon: Horizon | None = None,
) -> tuple[GrantedView, Grant | None, Target]:
    description = serving_description(session, resource)
    types = {f.name: SQL_TYPES[f.type] for f in description.fields}
    key = tuple(f.name for f in description.fields if f.primary_key)
    placed = place(session, resource, {f.name: f.type for f in description.fields}, lake_dir, key)
    relation = placed.relation
    if _sees_whole(actor, resource):
        return GrantedView(resource.code, relation, types, frozenset(types)), None, placed.target
    grant = _active_grant(session, actor, resource, purpose, delivery, description=description, horizon=horizon)
    assert grant is not None  # issue=True: a grant, or a refusal
    fields = json.loads(grant.fields_json)
    masks = {k: MaskSpec.model_validate(v) for k, v in json.loads(grant.masks_json).items()}
    view = GrantedView(
        code=resource.code,
        relation=relation,
        fields={name: types[name] for name in fields},
        all_fields=frozenset(types),
        masks={k: Masking(v.kind, v.width) for k, v in masks.items()},
        row_filter=_condition(grant.row_filter) if grant.row_filter else None,
        key=bytes.fromhex(grant.key_hex),
    )
    return view, grant, placed.target


def _together(target: Target | None, placed: Target, code: str, views: dict[str, GrantedView]) -> Target:
    """One query runs in one engine: resources answered in different places cannot be joined."""
    if target is None:
        return placed
    if not target.same_place(placed):
        others = ", ".join(sorted(views))
        raise Invalid(
            f"{code} is answered by {placed.label} and {others} by {target.label}; one query cannot combine "
            "them — query each on its own and combine the answers",
            resource=code,
        )
    return target.merged(placed)


def _sees_whole(actor: Actor, resource: Resource) -> bool:
    """Open data is everyone's; an organisation's own data is its own consumers' (no grant: it holds it)."""
    if resource.visible and resource.open_type == OpenType.OPEN.value:
        return True
    return actor.is_user and actor.has(Role.CONSUMER) and actor.org_id is not None and actor.org_id == resource.org_id


def _active_grant(
    session: Session,
    actor: Actor,
    resource: Resource,
    purpose: str,
    delivery: Delivery = Delivery.QUERY,
    *,
    description: ResourceDescription | None = None,
    issue: bool = True,
    horizon: Horizon | None = None,
) -> Grant | None:
    """The caller's live grant for ``resource`` and ``purpose`` that allows ``delivery``; for an unconditional
    resource and a department's consumer, a standing grant issued now (``issue``) or None (to be issued);
    otherwise a refusal saying what is missing."""
    at = horizon.at if horizon is not None else now(session)  # a kept decision's window is around this moment
    candidates = session.scalars(
        _grants_of(), {"resource_id": resource.id, "org_id": actor.org_id if actor.org_id is not None else -1}
    ).all()
    live = [g for g in candidates if g.status == "active" and g.valid_from <= at < g.valid_until]
    if horizon is not None:  # which grants are live changes when any of their terms begins or ends
        horizon.mind(*(moment for g in candidates for moment in (g.valid_from, g.valid_until)))
    wanted = _purpose_key(purpose)
    matching = [g for g in live if _same(g.purpose, wanted)]
    for grant in matching:
        if delivery.value in json.loads(grant.delivery_json):
            _still_shared(resource, grant)
            return grant
    stopped = [g for g in candidates if g.standing and g.status != "active"]  # the provider stopped one: no more
    if may_stand(actor, resource) and not stopped and not any(g.standing for g in matching):
        if not issue:
            return None
        return issue_standing_grant(
            session, actor, resource, description or serving_description(session, resource), purpose
        )
    how = f"apply for {resource.code} (its provider answers applications), or query open data"
    if not candidates:
        raise Forbidden(f"you have no grant for {resource.code}: {how}", resource=resource.code)
    if not live:
        states = sorted({g.status if g.status != "active" else "expired or not yet valid" for g in candidates})
        raise Forbidden(f"your grant for {resource.code} is {', '.join(states)}: {how}", resource=resource.code)
    if matching:
        raise Forbidden(
            f"your grant for {resource.code} does not include delivery by {delivery.value}; ask the provider for it",
            resource=resource.code,
        )
    purposes = "; ".join(sorted({g.purpose for g in live}))
    raise Forbidden(
        f"your grant for {resource.code} is for the purpose {purposes!r}, not {purpose!r}; data may be used only for "
        "the purpose it was granted for",
        resource=resource.code,
    )


def _still_shared(resource: Resource, grant: Grant) -> None:
    """A grant outside the resource's organisation stops counting once the resource is core or not shared."""
    if resource.grade == Grade.CORE.value or resource.sharing_type == SharingType.NOT_SHARED.value:
        why = "core data (核心数据)" if resource.grade == Grade.CORE.value else "no longer shared (不予共享)"
        raise Forbidden(
            f"{resource.code} is {why}: grant {grant.id} is no longer honoured outside its department",
            resource=resource.code,
        )


def _same(purpose: str, wanted: str) -> bool:
    return _purpose_key(purpose) == wanted


def _purpose_key(purpose: str) -> str:
    """A purpose as grants are matched on it: spaces folded, case ignored."""
    return " ".join(purpose.split()).casefold()


def _reserve_call(session: Session, grant_id: int, quota: int, code: str) -> None:
    """Take one call of the quota atomically (two concurrent calls cannot both take the last one)."""
    if plain.execute(session, TAKE_CALL, {"grant_id": grant_id, "quota": quota}) != 1:
        state = plain.scalar(session, "SELECT status FROM grants WHERE id = :grant_id", {"grant_id": grant_id})
        if state != "active":
            raise Forbidden(f"your grant for {code} is {state}", resource=code)
        raise Exhausted(f"your grant for {code} has used all {quota} calls of its quota; apply to renew it")


# The statements every governed call runs, as plain SQL on the driver (``db.plain``).
TAKE_CALL = (  # still active: a revocation committed since the decision was kept takes no more calls
    "UPDATE grants SET calls_used = calls_used + 1 WHERE id = :grant_id AND calls_used < :quota AND status = 'active'"
)
COUNT_CALL = "UPDATE grants SET calls_used = calls_used + 1 WHERE id = :grant_id"  # unmetered: counted when answered
COUNT_USE = "UPDATE resources SET use_count = use_count + 1 WHERE code = :code"
COUNT_DOWNLOAD = (
    "UPDATE resources SET use_count = use_count + 1, download_count = download_count + 1 WHERE code = :code"
)


def _condition(text: str) -> exp.Expr:
    return parse_one(text, dialect=DIALECT)


@functools.cache
def _grants_of() -> Select[Grant]:
    """An organisation's grants for a resource: built once, asked at every call."""
    statement = select(Grant).where(
        Grant.resource_id == bindparam("resource_id"), Grant.assignee_org_id == bindparam("org_id")
    )
    # Rows as they are now, even if the session holds older copies: a decision built from a grant the session
    # loaded before another transaction revoked it would otherwise be kept under the newer stamp.
    return statement.execution_options(populate_existing=True)
