"""Data objections (数据异议) in the portal, and the inbox. A consumer flags one record of a dataset it uses as
wrong (from the dataset's page); the provider accepts it, marks it corrected by a new version, or rejects it
with reasons; the objector may withdraw it. Feedback from the public on the department's datasets is read and
answered here. The inbox lists the notices for the visitor's roles and department. Every form calls the
objection, feedback and inbox use cases, as the API does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from sluice.api.deps import PlatformDep, RowId
from sluice.catalog import service as catalog
from sluice.errors import Invalid, SluiceError
from sluice.feedback import service as feedback
from sluice.feedback.schemas import FeedbackAnswer
from sluice.identity.roles import Role
from sluice.inbox import service as inbox
from sluice.objections import service as objections
from sluice.objections.schemas import ObjectionAnswer, ObjectionCreate
from sluice.platform import Platform
from sluice.sharing.states import OBJECTIONS, Party
from sluice.web.i18n import _
from sluice.web.rendering import problem_status, problem_text, render
from sluice.web.security import FORM_BODY_MAX, SMALL_FORMS, Visitor, check_form, signed_in_visitor

router = APIRouter(include_in_schema=False, form_limits=SMALL_FORMS, max_body_size=FORM_BODY_MAX)

OBJECTION_BOXES = ("mine", "to_me", "all")
ANSWERS = {
    "accept": objections.accept_objection,
    "correct": objections.correct_objection,
    "reject": objections.reject_objection,
}
KEY_PREFIX = "key_"


def objection_box_title(box: str) -> str:
    titles = {"mine": _("Raised by my department"), "to_me": _("About my department's data"), "all": _("All")}
    return titles.get(box, box)


def objection_status(status: str) -> str:
    titles = {
        "open": _("waiting for the provider"),
        "escalated": _("escalated"),
        "accepted": _("accepted (correction due)"),
        "corrected": _("corrected"),
        "rejected": _("rejected"),
        "withdrawn": _("withdrawn"),
    }
    return titles.get(status, status)


# --- Raising ----------------------------------------------------------------------------------------------


@router.get("/datasets/{code}/object", response_class=HTMLResponse)
def objection_form(request: Request, platform: PlatformDep, code: str) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    return _raise_page(request, platform, who, code, typed={}, problem=None)


def _raise_page(
    request: Request,
    platform: Platform,
    who: Visitor,
    code: str,
    *,
    typed: dict[str, str],
    problem: str | None,
    status: int = 200,
) -> Response:
    with platform.reading() as session:
        resource = catalog.get_resource(session, who.actor, code=code)
    keys = [f for f in resource.fields if f.primary_key]
    return render(
        request, who, "objection_new.html", status, resource=resource, keys=keys, typed=typed, problem=problem
    )


@router.post("/datasets/{code}/object", response_class=HTMLResponse)
async def raise_objection(request: Request, platform: PlatformDep, code: str) -> Response:
    """The record is named by its key fields (``key_<field>``), whatever they are for this dataset."""
    who = await run_in_threadpool(signed_in_visitor, request, platform)
    if isinstance(who, Response):
        return who
    form = await request.form(max_files=0, max_fields=200, max_part_size=16 * 1024)
    check_form(request, who, str(form.get("csrf", "")))
    typed = {k: str(v) for k, v in form.items() if k != "csrf"}
    try:
        record = {k.removeprefix(KEY_PREFIX): v.strip() for k, v in typed.items() if k.startswith(KEY_PREFIX)}
        if not record or not all(record.values()):
            raise Invalid("name the record by every one of its key fields", field="record")
        data = ObjectionCreate(
            resource=code,
            record=record,
            field=typed.get("field", ""),
            claimed_value=typed.get("claimed_value", "").strip() or None,
            evidence=typed.get("evidence", "").strip(),
        )
        raised = await run_in_threadpool(_raise, platform, who, data)
    except (SluiceError, ValidationError) as error:
        return await run_in_threadpool(
            _raise_page,
            request,
            platform,
            who,
            code,
            typed=typed,
            problem=problem_text(error),
            status=problem_status(error),
        )
    return RedirectResponse(f"/workspace/objections/{raised}", status_code=303)


def _raise(platform: Platform, who: Visitor, data: ObjectionCreate) -> int:
    with platform.transaction() as session:
        return objections.raise_objection(session, who.actor, data=data).id


# --- Lists and answers ------------------------------------------------------------------------------------


@router.get("/workspace/objections", response_class=HTMLResponse)
def objection_list(request: Request, platform: PlatformDep, box: str = "mine", cursor: str | None = None) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    if box not in OBJECTION_BOXES:
        raise Invalid(f"no objection box {box!r}; choose one of {', '.join(OBJECTION_BOXES)}", field="box")
    with platform.reading() as session:
        page = objections.list_objections(session, who.actor, box=box, cursor=cursor, limit=50)
    return render(
        request,
        who,
        "objections.html",
        page=page,
        box=box,
        objection_box_title=objection_box_title,
        objection_status=objection_status,
    )


@router.get("/workspace/objections/{objection_id}", response_class=HTMLResponse)
def objection_page(request: Request, platform: PlatformDep, objection_id: RowId) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    return _objection_page(request, platform, who, objection_id, problem=None)


def _objection_page(
    request: Request, platform: Platform, who: Visitor, objection_id: int, *, problem: str | None, status: int = 200
) -> Response:
    with platform.reading() as session:
        objection = objections.get_objection(session, who.actor, objection_id=objection_id)
    return render(
        request,
        who,
        "objection.html",
        status,
        objection=objection,
        objection_status=objection_status,
        actions=_actions(objection.status, who, provider=objection.provider_org, objector=objection.objector_org),
        problem=problem,
    )


@router.post("/workspace/objections/{objection_id}/{action}", response_class=HTMLResponse)
def answer_objection(
    request: Request,
    platform: PlatformDep,
    objection_id: RowId,
    action: str,
    *,
    reason: Annotated[str, Form(max_length=2000)] = "",
    version: Annotated[str, Form(max_length=9)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    check_form(request, who, csrf)
    try:
        with platform.transaction() as session:
            if action == "withdraw":
                objections.withdraw_objection(session, who.actor, objection_id=objection_id)
            elif action in ANSWERS:
                number = _version_number(version)
                answer = ObjectionAnswer(reason=reason, version=number)
                ANSWERS[action](session, who.actor, objection_id=objection_id, answer=answer)
            else:
                raise Invalid(f"no action {action!r} on an objection", field="action")
    except (SluiceError, ValidationError, ValueError) as error:
        return _objection_page(
            request, platform, who, objection_id, problem=problem_text(error), status=problem_status(error)
        )
    return RedirectResponse(f"/workspace/objections/{objection_id}", status_code=303)


def _actions(status: str, who: Visitor, *, provider: str, objector: str) -> set[str]:
    """The steps the workflow's table allows from ``status`` to this reader's side (the use case decides)."""
    side = {Party.PROVIDER} if who.actor.org_code == provider else set()
    if who.actor.org_code == objector:
        side.add(Party.APPLICANT)
    return {action for (state, action), step in OBJECTIONS.items() if state == status and step.parties & side}


def _version_number(text: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit() or len(text.strip()) > 9:
        raise Invalid("give the version that corrects it as its number, e.g. 3", field="version")
    return int(text)


# --- Feedback from the public -----------------------------------------------------------------------------


@router.get("/workspace/feedback", response_class=HTMLResponse)
def feedback_list(request: Request, platform: PlatformDep, box: str = "to_me", cursor: str | None = None) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    return _feedback_page(request, platform, who, box, cursor, problem=None)


def _feedback_page(
    request: Request,
    platform: Platform,
    who: Visitor,
    box: str,
    cursor: str | None,
    *,
    problem: str | None,
    status: int = 200,
) -> Response:
    with platform.reading() as session:
        page = feedback.list_feedback(session, who.actor, box=box, cursor=cursor, limit=50)
    answering = who.actor.has(Role.PROVIDER)
    return render(request, who, "feedback.html", status, page=page, box=box, answering=answering, problem=problem)


@router.post("/workspace/feedback/{feedback_id}/answer", response_class=HTMLResponse)
def answer_feedback(
    request: Request,
    platform: PlatformDep,
    feedback_id: RowId,
    *,
    answer: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    check_form(request, who, csrf)
    try:
        data = FeedbackAnswer(answer=answer)
        with platform.transaction() as session:
            feedback.answer_feedback(session, who.actor, feedback_id=feedback_id, data=data)
    except (SluiceError, ValidationError) as error:
        return _feedback_page(
            request, platform, who, "to_me", None, problem=problem_text(error), status=problem_status(error)
        )
    return RedirectResponse(f"/workspace/feedback#feedback-{feedback_id}", status_code=303)


# --- Inbox ------------------------------------------------------------------------------------------------


def notice_link(notice: inbox.NoticePublic, who: Visitor) -> str | None:
    """The page a notice is about, if the portal has one."""
    if notice.kind == "feedback.new":
        return "/workspace/feedback"
    kind, _, name = notice.target.partition(":")
    if kind == "application":
        return f"/workspace/applications/{name}"
    if kind == "objection":
        return f"/workspace/objections/{name}"
    if kind == "grant":
        return "/workspace/grants?box=mine"
    if kind == "resource":
        own = name.split(".", 1)[0] == who.actor.org_code
        version = notice.detail.get("version")
        if isinstance(version, int) and (own or who.actor.has(Role.MANAGER)):
            return f"/workspace/resources/{name}/versions/{version}"
        return f"/workspace/resources/{name}" if own else f"/datasets/{name}"
    return None


@router.get("/workspace/inbox", response_class=HTMLResponse)
def notices(request: Request, platform: PlatformDep, unread: bool = False) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    with platform.reading() as session:
        shown = inbox.list_notices(session, who.actor, unread_only=unread, limit=100)
    links = {n.id: notice_link(n, who) for n in shown}
    return render(request, who, "inbox.html", notices=shown, unread=unread, links=links)


@router.post("/workspace/inbox/{notice_id}/read", response_class=HTMLResponse)
def mark_read(
    request: Request, platform: PlatformDep, notice_id: RowId, csrf: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    check_form(request, who, csrf)
    with platform.transaction() as session:
        inbox.mark_read(session, who.actor, notice_id=notice_id)
    return RedirectResponse(f"/workspace/inbox#notice-{notice_id}", status_code=303)
