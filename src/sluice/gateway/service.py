"""Use cases of the gateway: grants (created directly until the sharing workflow of issue 6), and the three
steps of a governed query — authorise (rules 1–3 and 6: parse, check, resolve grants, reserve a call,
rewrite), then, after the engine ran with no transaction open, record the delivery or the refusal.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, lazyload
from sqlglot import exp, parse_one

from sluice.audit.log import record
from sluice.catalog.models import Resource
from sluice.catalog.queries import current_description, find_resource, serving_description, visible_to
from sluice.catalog.vocab import SQL_TYPES, FieldType, OpenType
from sluice.db.session import now, settings_of, signer_of
from sluice.errors import Exhausted, Forbidden, Invalid, NotFound, SluiceError
from sluice.gateway import permissions as can
from sluice.gateway.engines import Target
from sluice.gateway.masks import MaskKind
from sluice.gateway.models import Grant
from sluice.gateway.placement import place
from sluice.gateway.plans import PLANS, plan_key
from sluice.gateway.policy import DIALECT, check_query, check_tree
from sluice.gateway.receipts import Receipt, sign
from sluice.gateway.rewrite import GrantedView, Masking, check_physical, govern
from sluice.gateway.schemas import Delivery, GrantCreate, GrantPublic, MaskSpec, QueryRequest
from sluice.gateway.shapes import shape_of
from sluice.identity.actor import Actor
from sluice.identity.models import Organisation
from sluice.identity.queries import find_organisation
from sluice.usecase import use_case

DATE_MASKS = {MaskKind.MASK_DATE_SHOW_YEAR, MaskKind.DATE_YEAR, MaskKind.DATE_MONTH}
NUMBER_MASKS = {MaskKind.NUMBER_RANGE}


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


@dataclass(frozen=True)
class RowFields:
    """What a page of rows may filter and sort on, and the fields that order pages (the key when the caller sees
    it whole, else every field)."""

    fields: list[str]
    keys: list[str]


# --- grants ----------------------------------------------------------------------------------------------


@use_case(can.can_grant)
def create_grant(session: Session, actor: Actor, *, data: GrantCreate) -> GrantPublic:
    """Record a grant directly (the manager, or the shell; issue 6 adds applications and approvals)."""
    resource = find_resource(session, data.resource)
    assignee = find_organisation(session, data.assignee)
    description = current_description(session, resource)
    fields = {f.name: f for f in description.fields}
    unknown = [name for name in [*data.fields, *data.masks] if name not in fields]
    if unknown:
        raise Invalid(f"{data.resource} has no field(s) {', '.join(unknown)}", field="fields")
    for name, spec in data.masks.items():
        kind = fields[name].type
        if spec.kind in DATE_MASKS and kind not in (FieldType.DATE, FieldType.TIMESTAMP):
            raise Invalid(f"{spec.kind.value} masks dates; {name} is {kind.value}", field="masks")
        if spec.kind in NUMBER_MASKS and kind not in (FieldType.INTEGER, FieldType.DECIMAL):
            raise Invalid(f"{spec.kind.value} masks numbers; {name} is {kind.value}", field="masks")
    if data.valid_until <= data.valid_from:
        raise Invalid("a grant must end after it starts", field="valid_until")
    if data.row_filter:
        _check_row_filter(data.row_filter, list(fields))
    ordered = [name for name in fields if name in data.fields]
    grant = Grant(
        resource_id=resource.id,
        assignee_org_id=assignee.id,
        fields_json=json.dumps(ordered),
        masks_json=json.dumps({k: v.model_dump(mode="json") for k, v in data.masks.items()}),
        row_filter=data.row_filter,
        purpose=data.purpose.strip(),
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        quota=data.quota,
        calls_used=0,
        delivery_json=json.dumps([d.value for d in data.delivery]),
        status="active",
        key_hex=secrets.token_hex(32),
        created_by=actor.username,
        created_at=now(session),
    )
    session.add(grant)
    session.flush()
    record(
        session,
        actor,
        "grant.create",
        f"grant:{grant.id}",
        resource=data.resource,
        assignee=data.assignee,
        fields=ordered,
        masks={k: v.kind.value for k, v in data.masks.items()},
        purpose=grant.purpose,
    )
    return _public(grant, resource.code, assignee.code)


@use_case(can.can_list_grants)
def list_my_grants(session: Session, actor: Actor) -> list[GrantPublic]:
    """The grants held by the caller's organisation, with calls used."""
    rows = session.execute(
        select(Grant, Resource.code, Organisation.code)
        .join(Resource, Resource.id == Grant.resource_id)
        .join(Organisation, Organisation.id == Grant.assignee_org_id)
        .where(Grant.assignee_org_id == (actor.org_id if actor.org_id is not None else -1))
        .order_by(Grant.id)
    ).all()
    return [_public(grant, code, org) for grant, code, org in rows]


# --- a governed query --------------------------------------------------------------------------------------


@use_case(can.can_query)
def authorise_query(
    session: Session, actor: Actor, *, request: QueryRequest, delivery: Delivery = Delivery.QUERY
) -> Authorised:
    """Check the query and the caller's right to every resource it reads; reserve one call of each grant's
    quota; return the rewritten query. Refusals name the resource and what is missing."""
    shape = shape_of(request.sql)
    known = _visible_resources(session, actor, {code for code, _ in shape.tables})
    checked = check_tree(shape.tree, shape.tables, known.__contains__)
    lake_dir = settings_of(session).lake_dir
    views: dict[str, GrantedView] = {}
    used: list[int] = []
    unmetered: list[int] = []
    target: Target | None = None
    for code in sorted(checked.resources):
        resource = known[code]
        view, grant, placed = _view_for(session, actor, resource, request.purpose, lake_dir, delivery=delivery)
        target = _together(target, placed, code, views)
        views[code] = view
        if grant is not None:
            if grant.quota is not None:
                _reserve_call(session, grant, code)  # before it runs: two calls cannot both take the last one
            else:
                unmetered.append(grant.id)  # counted when answered: this transaction stays read-only
            used.append(grant.id)
    assert target is not None  # check_query refuses a query that reads no resource
    dialect = target.dialect

    def rewrite() -> str:
        governed = govern(checked, views, dialect).sql(dialect=dialect.name, comments=False)
        check_physical(governed, dialect, views)
        return governed

    return Authorised(
        sql=shape.fill(PLANS.get_or_make(plan_key(shape.template, dialect.name, views), rewrite), dialect),
        target=target,
        query_digest=shape.digest,
        resources=sorted(checked.resources),
        grants=used,
        fields={code: list(view.fields) for code, view in views.items()},
        masks={code: {f: m.kind.value for f, m in view.masks.items()} for code, view in views.items()},
        purpose=request.purpose.strip(),
        count_on_delivery=tuple(unmetered),
    )


@use_case(can.can_query)
def fields_for(session: Session, actor: Actor, *, code: str, purpose: str) -> RowFields:
    """The fields of ``code`` the caller would see under its grant for ``purpose`` (what /rows may filter on),
    and what orders its pages. Nothing is reserved or recorded: the query is checked again, fully, when it runs."""
    resource = _visible_resources(session, actor, {code}).get(code)
    if resource is None:
        raise NotFound(f"no resource {code!r} that you may see", resource=code)
    description = serving_description(session, resource)
    names = [f.name for f in description.fields]
    key = [f.name for f in description.fields if f.primary_key]
    if resource.visible and resource.open_type == OpenType.OPEN.value:
        return RowFields(names, key or names)
    grant = _active_grant(session, actor, resource, purpose)
    granted = set(json.loads(grant.fields_json))
    masked = set(json.loads(grant.masks_json))
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
    session.execute(
        update(Resource).where(Resource.code.in_(authorised.resources)).values(use_count=Resource.use_count + 1)
    )
    if authorised.count_on_delivery:
        session.execute(
            update(Grant).where(Grant.id.in_(authorised.count_on_delivery)).values(calls_used=Grant.calls_used + 1)
        )
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
) -> tuple[GrantedView, Grant | None, Target]:
    description = serving_description(session, resource)
    types = {f.name: SQL_TYPES[f.type] for f in description.fields}
    key = tuple(f.name for f in description.fields if f.primary_key)
    placed = place(session, resource, {f.name: f.type for f in description.fields}, lake_dir, key)
    relation = placed.relation
    if resource.visible and resource.open_type == OpenType.OPEN.value:
        return GrantedView(resource.code, relation, types, frozenset(types)), None, placed.target
    grant = _active_grant(session, actor, resource, purpose, delivery)
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


def _visible_resources(session: Session, actor: Actor, codes: set[str]) -> dict[str, Resource]:
    """The named resources the caller may see, in one read, as rows alone (a query is answered without their
    tags and formats)."""
    rows = session.scalars(
        select(Resource)
        .where(Resource.code.in_(sorted(codes)), visible_to(actor))
        .options(lazyload(Resource.tags), lazyload(Resource.formats))
    ).all()
    return {resource.code: resource for resource in rows}


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


def _active_grant(
    session: Session, actor: Actor, resource: Resource, purpose: str, delivery: Delivery = Delivery.QUERY
) -> Grant:
    at = now(session)
    candidates = session.scalars(
        select(Grant).where(
            Grant.resource_id == resource.id,
            Grant.assignee_org_id == (actor.org_id if actor.org_id is not None else -1),
        )
    ).all()
    how = f"apply for {resource.code} (its provider answers applications), or query open data"
    if not candidates:
        raise Forbidden(f"you have no grant for {resource.code}: {how}", resource=resource.code)
    live = [g for g in candidates if g.status == "active" and g.valid_from <= at < g.valid_until]
    if not live:
        states = sorted({g.status if g.status != "active" else "expired or not yet valid" for g in candidates})
        raise Forbidden(f"your grant for {resource.code} is {', '.join(states)}: {how}", resource=resource.code)
    wanted = " ".join(purpose.split()).casefold()
    matching = [g for g in live if " ".join(g.purpose.split()).casefold() == wanted]
    for grant in matching:
        if delivery.value in json.loads(grant.delivery_json):
            return grant
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


def _reserve_call(session: Session, grant: Grant, code: str) -> None:
    """Take one call of the quota atomically (two concurrent calls cannot both take the last one)."""
    statement = update(Grant).where(Grant.id == grant.id).values(calls_used=Grant.calls_used + 1)
    if grant.quota is not None:
        statement = statement.where(Grant.calls_used < grant.quota)
    if session.execute(statement).rowcount != 1:  # type: ignore[attr-defined]
        raise Exhausted(f"your grant for {code} has used all {grant.quota} calls of its quota; apply to renew it")


def _condition(text: str) -> exp.Expr:
    return parse_one(text, dialect=DIALECT)


def _check_row_filter(text: str, fields: list[str]) -> None:
    """A row filter is a condition over the resource's own fields, held to rule 1's allow-lists."""
    try:
        condition = parse_one(text, dialect=DIALECT)
    except Exception as exc:  # sqlglot's parse and token errors
        raise Invalid(f"the row filter cannot be parsed: {str(exc).splitlines()[0]}", field="row_filter") from None
    if isinstance(condition, exp.Query) or not isinstance(condition, exp.Condition):
        raise Invalid("the row filter must be a condition, e.g. division_code LIKE '110105%'", field="row_filter")
    probe = exp.select("1").from_("x.y").where(condition)
    try:
        checked = check_query(probe.sql(dialect=DIALECT), lambda code: code == "x.y")
    except SluiceError as exc:
        raise Invalid(f"the row filter is not allowed: {exc.message}", field="row_filter") from None
    names = {c.name for c in checked.tree.find_all(exp.Column)}
    unknown = sorted(names - set(fields))
    if unknown:
        raise Invalid(f"the row filter names unknown field(s) {', '.join(unknown)}", field="row_filter")
    if len(list(checked.tree.find_all(exp.Select))) != 1:
        raise Invalid("the row filter must be a plain condition (no subqueries)", field="row_filter")


def _public(grant: Grant, resource: str, assignee: str) -> GrantPublic:
    return GrantPublic(
        id=grant.id,
        resource=resource,
        assignee=assignee,
        fields=json.loads(grant.fields_json),
        masks={k: MaskSpec.model_validate(v) for k, v in json.loads(grant.masks_json).items()},
        row_filter=grant.row_filter,
        purpose=grant.purpose,
        valid_from=grant.valid_from,
        valid_until=grant.valid_until,
        quota=grant.quota,
        calls_used=grant.calls_used,
        delivery=[Delivery(d) for d in json.loads(grant.delivery_json)],
        status=grant.status,
    )
