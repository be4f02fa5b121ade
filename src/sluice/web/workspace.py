"""The departments' workspace: applying for data, answering applications (approve, narrow, ask for changes,
refuse, countersign), and one's grants. Each form calls the sharing use cases; a refusal from them is shown on
the same form, with what was typed kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from sluice.api.deps import PlatformDep, RowId
from sluice.catalog import service as catalog
from sluice.errors import Invalid, SluiceError
from sluice.pagination import Page
from sluice.platform import Platform
from sluice.sharing import service as sharing
from sluice.sharing.schemas import Answer, ApplicationCreate, ApplicationItem, ApplicationPublic, Approval
from sluice.web.i18n import CHINA, _
from sluice.web.rendering import problem_status, problem_text, render
from sluice.web.security import FORM_BODY_MAX, SMALL_FORMS, Visitor, check_form, signed_in_visitor

router = APIRouter(include_in_schema=False, form_limits=SMALL_FORMS, max_body_size=FORM_BODY_MAX)

APPLICATION_BOXES = ("mine", "to_me", "countersign", "escalated", "all")
GRANT_BOXES = ("mine", "given", "all")


def box_title(box: str) -> str:
    titles = {
        "mine": _("Filed by my department"),
        "to_me": _("Requests to my department"),
        "given": _("Given by my department"),
        "countersign": _("Waiting for countersignature"),
        "escalated": _("Escalated past their deadline"),
        "all": _("All"),
    }
    return titles.get(box, box)


def status_title(status: str) -> str:
    titles = {
        "pending": _("waiting for an answer"),
        "changes_requested": _("changes requested"),
        "awaiting_countersign": _("waiting for countersignature"),
        "escalated": _("escalated"),
        "approved": _("approved"),
        "refused": _("refused"),
        "withdrawn": _("withdrawn"),
        "offered": _("offered (narrowed; to accept)"),
        "active": _("active"),
        "suspended": _("suspended"),
        "revoked": _("revoked"),
        "expired": _("expired"),
        "declined": _("declined"),
    }
    return titles.get(status, status)


# --- Applying ---------------------------------------------------------------------------------------------


@router.get("/datasets/{code}/apply", response_class=HTMLResponse)
def apply_form(request: Request, platform: PlatformDep, code: str) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    with platform.reading() as session:
        resource = catalog.get_resource(session, who.actor, code=code)
    until = (datetime.now(CHINA).date() + timedelta(days=180)).isoformat()
    typed = {"fields": [f.name for f in resource.fields], "purpose": "", "legal_basis": "", "until": until}
    return render(request, who, "apply.html", resource=resource, typed=typed, problem=None)


@router.post("/datasets/{code}/apply", response_class=HTMLResponse)
def apply(
    request: Request,
    platform: PlatformDep,
    code: str,
    *,
    purpose: Annotated[str, Form(max_length=500)] = "",
    legal_basis: Annotated[str, Form(max_length=1000)] = "",
    until: Annotated[str, Form(max_length=10)] = "",
    row_filter: Annotated[str, Form(max_length=2000)] = "",
    quota: Annotated[str, Form(max_length=9)] = "",
    fields: Annotated[list[str] | None, Form()] = None,
    unmasked: Annotated[list[str] | None, Form()] = None,
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    check_form(request, who, csrf)
    typed = {"fields": fields or [], "purpose": purpose, "legal_basis": legal_basis, "until": until}
    typed |= {"row_filter": row_filter, "quota": quota, "unmasked": unmasked or []}
    try:
        data = ApplicationCreate(
            items=[
                ApplicationItem(
                    resource=code, fields=fields or [], row_filter=row_filter or None, unmasked=unmasked or []
                )
            ],
            purpose=purpose,
            legal_basis=legal_basis,
            valid_until=_end_of_day(until),
            quota=int(quota) if quota.strip() else None,
        )
        with platform.transaction() as session:
            filed = sharing.file_application(session, who.actor, data=data)
    except (SluiceError, ValidationError, ValueError) as error:
        with platform.reading() as session:
            resource = catalog.get_resource(session, who.actor, code=code)
        return render(
            request,
            who,
            "apply.html",
            problem_status(error),
            resource=resource,
            typed=typed,
            problem=problem_text(error),
        )
    return RedirectResponse(f"/workspace/applications/{filed[0].id}", status_code=303)


def _end_of_day(text: str) -> datetime:
    """A date typed in the form, as the end of that day in China time."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Invalid(_("Give the last day of use as a date, e.g. 2027-06-30."), field="until") from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=CHINA).astimezone(UTC)


# --- Applications -----------------------------------------------------------------------------------------


@router.get("/workspace", response_class=HTMLResponse)
def workspace(request: Request, platform: PlatformDep) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    roles = {role.value for role in who.actor.roles}
    if "manager" in roles:
        return RedirectResponse("/workspace/applications?box=countersign", status_code=303)
    if "provider" in roles:
        return RedirectResponse("/workspace/applications?box=to_me", status_code=303)
    return RedirectResponse("/workspace/applications?box=mine", status_code=303)


@router.get("/workspace/applications", response_class=HTMLResponse)
def applications(request: Request, platform: PlatformDep, box: str = "mine", cursor: str | None = None) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    with platform.reading() as session:
        page: Page[ApplicationPublic] = sharing.list_applications(session, who.actor, box=box, cursor=cursor, limit=50)
    return render(
        request,
        who,
        "applications.html",
        box=box,
        boxes=APPLICATION_BOXES,
        page=page,
        box_title=box_title,
        status_title=status_title,
    )


@router.get("/workspace/applications/{application_id}", response_class=HTMLResponse)
def application(request: Request, platform: PlatformDep, application_id: RowId) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    return _application_page(request, platform, who, application_id, problem=None)


def _application_page(
    request: Request, platform: Platform, who: Visitor, application_id: int, *, problem: str | None, status: int = 200
) -> Response:
    with platform.reading() as session:
        shown = sharing.get_application(session, who.actor, application_id=application_id)
    return render(
        request,
        who,
        "application.html",
        status,
        item=shown,
        problem=problem,
        status_title=status_title,
        actions=_actions(who, shown),
    )


def _actions(who: Visitor, shown: ApplicationPublic) -> set[str]:
    """The forms worth showing this visitor (the use cases decide; this only hides what would be refused)."""
    org, roles = who.actor.org_code, {role.value for role in who.actor.roles}
    provider = org == shown.provider_org and "provider" in roles
    applicant = org == shown.applicant_org
    manager = "manager" in roles
    found: set[str] = set()
    if shown.status == "pending" and (provider or (manager and shown.escalated_at)):
        found |= {"approve", "request_changes", "refuse"}
    if shown.status == "escalated" and manager:
        found |= {"approve", "request_changes", "refuse"}
    if shown.status == "awaiting_countersign" and manager:
        found |= {"countersign", "refuse"}
    if shown.status in ("pending", "changes_requested") and applicant:
        found.add("withdraw")
    return found


def _step(
    request: Request, platform: Platform, application_id: int, csrf: str, act: Callable[[Any, Visitor], object]
) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    check_form(request, who, csrf)
    try:
        with platform.transaction() as session:
            act(session, who)
    except (SluiceError, ValidationError, ValueError) as error:
        return _application_page(
            request, platform, who, application_id, problem=problem_text(error), status=problem_status(error)
        )
    return RedirectResponse(f"/workspace/applications/{application_id}", status_code=303)


@router.post("/workspace/applications/{application_id}/approve", response_class=HTMLResponse)
def approve(
    request: Request,
    platform: PlatformDep,
    application_id: RowId,
    *,
    fields: Annotated[list[str] | None, Form()] = None,
    row_filter: Annotated[str, Form(max_length=2000)] = "",
    until: Annotated[str, Form(max_length=10)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    def act(session: Any, who: Visitor) -> object:
        if not fields:  # the form lists every field asked for: none ticked is a mistake, not "as asked"
            raise Invalid(_("Tick at least one field to approve, or refuse the application."), field="fields")
        approval = Approval(
            fields=fields,
            row_filter=row_filter or None,
            valid_until=_end_of_day(until) if until else None,
            comment=comment,
        )
        return sharing.approve_application(session, who.actor, application_id=application_id, approval=approval)

    return _step(request, platform, application_id, csrf, act)


@router.post("/workspace/applications/{application_id}/{action}", response_class=HTMLResponse)
def answer(
    request: Request,
    platform: PlatformDep,
    application_id: RowId,
    action: str,
    *,
    reason: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    steps = {
        "refuse": sharing.refuse_application,
        "request_changes": sharing.request_changes,
        "countersign": sharing.countersign_application,
    }

    def act(session: Any, who: Visitor) -> object:
        if action == "withdraw":
            return sharing.withdraw_application(session, who.actor, application_id=application_id)
        if action not in steps:
            raise Invalid(f"no action {action!r} on an application", field="action")
        return steps[action](session, who.actor, application_id=application_id, answer=Answer(reason=reason))

    return _step(request, platform, application_id, csrf, act)


# --- Grants -----------------------------------------------------------------------------------------------


@router.get("/workspace/grants", response_class=HTMLResponse)
def grants(request: Request, platform: PlatformDep, box: str = "mine") -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    return _grants_page(request, platform, who, box, problem=None)


def _grants_page(
    request: Request, platform: Platform, who: Visitor, box: str, *, problem: str | None, status: int = 200
) -> Response:
    with platform.reading() as session:
        found = sharing.list_grants(session, who.actor, box=box)
    return render(
        request,
        who,
        "grants.html",
        status,
        box=box,
        boxes=GRANT_BOXES,
        grants=found,
        box_title=box_title,
        status_title=status_title,
        now=datetime.now(UTC),
        problem=problem,
    )


@router.post("/workspace/grants/{grant_id}/{action}", response_class=HTMLResponse)
def change_grant(
    request: Request,
    platform: PlatformDep,
    grant_id: RowId,
    action: str,
    *,
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=10)] = "mine",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Accept or decline an offered (narrowed) grant; suspend, resume or revoke one given."""
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    check_form(request, who, csrf)
    box = back if back in GRANT_BOXES else "mine"
    steps = {
        "decline": sharing.decline_grant,
        "suspend": sharing.suspend_grant,
        "resume": sharing.resume_grant,
        "revoke": sharing.revoke_grant,
    }
    try:
        with platform.transaction() as session:
            if action == "accept":
                sharing.accept_grant(session, who.actor, grant_id=grant_id)
            elif action in steps:
                steps[action](session, who.actor, grant_id=grant_id, answer=Answer(reason=reason))
            else:
                raise Invalid(f"no action {action!r} on a grant", field="action")
    except (SluiceError, ValidationError) as error:
        return _grants_page(request, platform, who, box, problem=problem_text(error), status=problem_status(error))
    return RedirectResponse(f"/workspace/grants?box={box}#grant-{grant_id}", status_code=303)
