"""The provider's pages: my department's resources; registering and editing a resource's description (as the
catalog use cases take it); submitting it for review; uploading a new version (streamed to disk like the API's
upload, with a progress bar where scripts run) and reading its validation report; deciding flagged personal
data. Every form calls the same use cases as the API; a refusal is shown on the form with what was typed kept."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from sluice.api.deps import PlatformDep, RowId
from sluice.api.lake import options_from_fields
from sluice.api.uploads import receive_upload
from sluice.catalog import service as catalog
from sluice.catalog.schemas import ResourceCreate, ResourceDescription, ResourcePublic, SearchQuery, Sort
from sluice.catalog.vocab import Category, FieldType, Format, Grade, OpenType, Sensitivity, SharingType, UpdateCycle
from sluice.errors import Forbidden, Invalid, SluiceError
from sluice.lake import permissions as lake_permissions
from sluice.lake import service as lake
from sluice.lake.ingestion import ingest
from sluice.lake.schemas import Mode, OnError, PiiDecision
from sluice.platform import Platform
from sluice.web.rendering import problem_status, problem_text, render
from sluice.web.security import (
    FORM_BODY_MAX,
    SMALL_FORMS,
    FormLimits,
    Visitor,
    check_form,
    check_origin,
    signed_in_visitor,
)

router = APIRouter(include_in_schema=False, form_limits=SMALL_FORMS)  # uploads limit their own size
DESCRIPTION_FORM = FormLimits(max_fields=500 * 8 + 50, max_part_size=16 * 1024)  # up to 500 fields of 8 inputs
DESCRIPTION_BODY_MAX = 4 * 1024 * 1024

MOST_RESOURCES = 200
BLANK_FIELD_ROWS = 3
TAG_SEPARATORS = re.compile(r"[,，、;；]")
EDITABLE = {"draft", "returned", "published"}  # a submitted revision waits for the manager


class DescriptionForm(BaseModel):
    """The description form as the browser sends it: one list per column of the fields table; the two check
    boxes of a row carry the row's index."""

    code: str = ""
    title_zh: str = ""
    title_en: str = ""
    abstract_zh: str = ""
    abstract_en: str = ""
    category: str = Category.DEPARTMENTAL.value
    tags: str = ""
    update_cycle: str = UpdateCycle.IRREGULAR.value
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    licence: str = ""
    sharing_type: str = SharingType.CONDITIONAL.value
    legal_basis: str = ""
    open_type: str = OpenType.NOT_OPEN.value
    grade: str = Grade.GENERAL.value
    formats: list[str] = []
    field_name: list[str] = []
    field_title_zh: list[str] = []
    field_title_en: list[str] = []
    field_type: list[str] = []
    field_element: list[str] = []
    field_sensitivity: list[str] = []
    field_nullable: list[str] = []
    field_key: list[str] = []
    more: str = ""  # "More rows" was pressed: show the form again with more empty rows, save nothing
    csrf: str = ""

    def rows(self) -> list[dict[str, Any]]:
        """The fields table as typed, blank rows left out."""
        found = []
        for index, name in enumerate(self.field_name):
            row = {
                "name": name.strip(),
                "title_zh": _at(self.field_title_zh, index).strip(),
                "title_en": _at(self.field_title_en, index).strip(),
                "type": _at(self.field_type, index) or FieldType.STRING.value,
                "data_element": _at(self.field_element, index) or None,
                "sensitivity": _at(self.field_sensitivity, index) or Sensitivity.NONE.value,
                "nullable": str(index) in self.field_nullable,
                "primary_key": str(index) in self.field_key,
            }
            if row["name"] or row["title_zh"] or row["title_en"]:
                found.append(row)
        return found

    def description(self) -> dict[str, Any]:
        """What the catalog use cases take, for their models to check."""
        contact: dict[str, Any] = {"name": self.contact_name.strip()}
        if self.contact_email.strip():
            contact["email"] = self.contact_email.strip()
        if self.contact_phone.strip():
            contact["phone"] = self.contact_phone.strip()
        return {
            "title_zh": self.title_zh.strip(),
            "title_en": self.title_en.strip(),
            "abstract_zh": self.abstract_zh.strip(),
            "abstract_en": self.abstract_en.strip(),
            "category": self.category,
            "tags": [t.strip() for t in TAG_SEPARATORS.split(self.tags) if t.strip()],
            "update_cycle": self.update_cycle,
            "contact": contact,
            "licence": self.licence.strip() or None,
            "sharing_type": self.sharing_type,
            "legal_basis": self.legal_basis.strip() or None,
            "open_type": self.open_type,
            "grade": self.grade,
            "formats": self.formats or [Format.CSV.value],
            "fields": self.rows(),
        }


def _at(values: list[str], index: int) -> str:
    return values[index] if index < len(values) else ""


def form_of(resource: ResourcePublic) -> DescriptionForm:
    """The form filled with a resource's working description."""
    fields = resource.fields
    return DescriptionForm(
        code=resource.code,
        title_zh=resource.title_zh,
        title_en=resource.title_en,
        abstract_zh=resource.abstract_zh,
        abstract_en=resource.abstract_en,
        category=resource.category.value,
        tags=", ".join(resource.tags),
        update_cycle=resource.update_cycle.value,
        contact_name=resource.contact.name,
        contact_email=resource.contact.email or "",
        contact_phone=resource.contact.phone or "",
        licence=resource.licence or "",
        sharing_type=resource.sharing_type.value,
        legal_basis=resource.legal_basis or "",
        open_type=resource.open_type.value,
        grade=resource.grade.value,
        formats=[f.value for f in resource.formats],
        field_name=[f.name for f in fields],
        field_title_zh=[f.title_zh for f in fields],
        field_title_en=[f.title_en for f in fields],
        field_type=[f.type.value for f in fields],
        field_element=[f.data_element or "" for f in fields],
        field_sensitivity=[f.sensitivity.value for f in fields],
        field_nullable=[str(i) for i, f in enumerate(fields) if f.nullable],
        field_key=[str(i) for i, f in enumerate(fields) if f.primary_key],
    )


def _provider(request: Request, platform: Platform) -> Visitor | Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    if who.actor.org_code is None:
        raise Forbidden("resources are kept by a department; your account belongs to none")
    return who


def _own(who: Visitor, code: str) -> None:
    if code.split(".", 1)[0] != who.actor.org_code:
        raise Forbidden(f"{code} is not your department's resource", resource=code)


# --- My resources -----------------------------------------------------------------------------------------


@router.get("/workspace/resources", response_class=HTMLResponse)
def my_resources(request: Request, platform: PlatformDep) -> Response:
    who = _provider(request, platform)
    if isinstance(who, Response):
        return who
    query = SearchQuery(
        organisation=[who.actor.org_code or ""], sort=Sort.CODE, limit=MOST_RESOURCES, facets=[], published_only=False
    )
    with platform.reading() as session:
        found = catalog.search_resources(session, who.actor, query=query)
        held = lake.list_held(session, who.actor)
    return render(request, who, "my_resources.html", found=found, held=held)


# --- Registering and editing ------------------------------------------------------------------------------


@router.get("/workspace/resources/new", response_class=HTMLResponse)
def new_resource(request: Request, platform: PlatformDep) -> Response:
    who = _provider(request, platform)
    if isinstance(who, Response):
        return who
    typed = DescriptionForm(code=f"{who.actor.org_code}.", contact_name=who.actor.username)
    return _form_page(request, platform, who, typed, editing=None, problem=None)


@router.post(
    "/workspace/resources/new",
    response_class=HTMLResponse,
    form_limits=DESCRIPTION_FORM,
    max_body_size=DESCRIPTION_BODY_MAX,
)
def register(request: Request, platform: PlatformDep, typed: Annotated[DescriptionForm, Form()]) -> Response:
    who = _provider(request, platform)
    if isinstance(who, Response):
        return who
    check_form(request, who, typed.csrf)
    if typed.more:
        return _form_page(request, platform, who, typed, editing=None, problem=None)
    try:
        data = ResourceCreate.model_validate({"code": typed.code.strip(), **typed.description()})
        with platform.transaction() as session:
            made = catalog.register_resource(session, who.actor, data=data)
    except (SluiceError, ValidationError) as error:
        return _form_page(
            request, platform, who, typed, editing=None, problem=problem_text(error), status=problem_status(error)
        )
    return RedirectResponse(f"/workspace/resources/{made.code}?registered=1", status_code=303)


@router.get("/workspace/resources/{code}/edit", response_class=HTMLResponse)
def edit_resource(request: Request, platform: PlatformDep, code: str) -> Response:
    who = _provider(request, platform)
    if isinstance(who, Response):
        return who
    _own(who, code)
    with platform.reading() as session:
        resource = catalog.get_resource(session, who.actor, code=code)
    return _form_page(request, platform, who, form_of(resource), editing=resource, problem=None)


@router.post(
    "/workspace/resources/{code}/edit",
    response_class=HTMLResponse,
    form_limits=DESCRIPTION_FORM,
    max_body_size=DESCRIPTION_BODY_MAX,
)
def save_resource(
    request: Request, platform: PlatformDep, code: str, typed: Annotated[DescriptionForm, Form()]
) -> Response:
    who = _provider(request, platform)
    if isinstance(who, Response):
        return who
    check_form(request, who, typed.csrf)
    _own(who, code)
    if typed.more:
        with platform.reading() as session:
            resource = catalog.get_resource(session, who.actor, code=code)
        return _form_page(request, platform, who, typed, editing=resource, problem=None)
    try:
        data = ResourceDescription.model_validate(typed.description())
        with platform.transaction() as session:
            catalog.update_resource(session, who.actor, code=code, data=data)
    except (SluiceError, ValidationError) as error:
        with platform.reading() as session:
            resource = catalog.get_resource(session, who.actor, code=code)
        typed.code = code
        return _form_page(
            request, platform, who, typed, editing=resource, problem=problem_text(error), status=problem_status(error)
        )
    return RedirectResponse(f"/workspace/resources/{code}?saved=1", status_code=303)


def _form_page(
    request: Request,
    platform: Platform,
    who: Visitor,
    typed: DescriptionForm,
    *,
    editing: ResourcePublic | None,
    problem: str | None,
    status: int = 200,
) -> Response:
    with platform.reading() as session:
        elements = catalog.list_data_elements(session, who.actor)
    blank = BLANK_FIELD_ROWS * (2 if typed.more else 1)
    rows = typed.rows() + [{} for _ in range(blank)]
    vocabularies = {
        "category": list(Category),
        "update_cycle": list(UpdateCycle),
        "sharing_type": list(SharingType),
        "open_type": list(OpenType),
        "grade": list(Grade),
        "format": list(Format),
        "type": list(FieldType),
        "sensitivity": list(Sensitivity),
    }
    return render(
        request,
        who,
        "resource_form.html",
        status,
        typed=typed,
        rows=rows,
        editing=editing,
        elements=elements,
        vocabularies=vocabularies,
        problem=problem,
    )


# --- One resource: revisions, submitting, versions --------------------------------------------------------


@router.get("/workspace/resources/{code}", response_class=HTMLResponse)
def my_resource(request: Request, platform: PlatformDep, code: str) -> Response:
    who = _provider(request, platform)
    if isinstance(who, Response):
        return who
    _own(who, code)
    return _resource_page(request, platform, who, code, problem=None)


def _resource_page(
    request: Request, platform: Platform, who: Visitor, code: str, *, problem: str | None, status: int = 200
) -> Response:
    with platform.reading() as session:
        resource = catalog.get_resource(session, who.actor, code=code)
        revisions = catalog.list_revisions(session, who.actor, code=code)
        versions = lake.list_versions(session, who.actor, code=code)
    latest = revisions[0] if revisions else None
    return render(
        request,
        who,
        "my_resource.html",
        status,
        resource=resource,
        revisions=revisions,
        latest=latest,
        versions=versions,
        modes=list(Mode),
        on_errors=list(OnError),
        editable=latest is not None and latest.status.value in EDITABLE,
        upload_max=platform.settings.upload_max_bytes,
        problem=problem,
    )


@router.post("/workspace/resources/{code}/submit", response_class=HTMLResponse, max_body_size=FORM_BODY_MAX)
def submit(
    request: Request, platform: PlatformDep, code: str, csrf: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    who = _provider(request, platform)
    if isinstance(who, Response):
        return who
    check_form(request, who, csrf)
    _own(who, code)
    try:
        with platform.transaction() as session:
            catalog.submit_resource(session, who.actor, code=code)
    except SluiceError as error:
        return _resource_page(request, platform, who, code, problem=error.message, status=problem_status(error))
    return RedirectResponse(f"/workspace/resources/{code}?submitted=1", status_code=303)


@router.post("/workspace/resources/{code}/versions", response_class=HTMLResponse)
async def upload(request: Request, platform: PlatformDep, code: str) -> Response:
    """The browser's upload: the same streamed receiver and ingestion as ``POST /api/v1/resources/{code}/
    versions``. The form's origin is checked before a byte is read, its CSRF token before anything is loaded."""
    who = await run_in_threadpool(_provider, request, platform)
    if isinstance(who, Response):
        return who
    check_origin(request)  # the token arrives inside the body
    _own(who, code)
    with platform.reading() as session:
        lake_permissions.can_ingest(session, who.actor, code=code)
    settings = platform.settings
    received = await receive_upload(request, settings.staging_dir / "uploads", settings.upload_max_bytes)
    try:
        check_form(request, who, received.fields.get("csrf", ""))  # refused outright: a forged form gets no page
        try:
            if not received.filename or received.size == 0:
                raise Invalid("choose a file to upload (it was empty or missing)", field="file")
            options = options_from_fields(received.fields)
            version = await run_in_threadpool(
                ingest,
                platform,
                who.actor,
                code=code,
                source=received.path,
                source_name=received.filename,
                options=options,
            )
        except SluiceError as error:
            return await run_in_threadpool(
                _resource_page, request, platform, who, code, problem=error.message, status=problem_status(error)
            )
    finally:
        received.path.unlink(missing_ok=True)
    return RedirectResponse(f"/workspace/resources/{code}/versions/{version.number}", status_code=303)


@router.get("/workspace/resources/{code}/versions/{number}", response_class=HTMLResponse)
def version_page(request: Request, platform: PlatformDep, code: str, number: RowId) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    return _version_page(request, platform, who, code, number, problem=None)


def _version_page(
    request: Request,
    platform: Platform,
    who: Visitor,
    code: str,
    number: int,
    *,
    problem: str | None,
    status: int = 200,
) -> Response:
    with platform.reading() as session:
        resource = catalog.get_resource(session, who.actor, code=code)
        version = lake.get_version(session, who.actor, code=code, number=number)
    return render(request, who, "version.html", status, resource=resource, version=version, problem=problem)


@router.post(
    "/workspace/resources/{code}/versions/{number}/pii", response_class=HTMLResponse, max_body_size=FORM_BODY_MAX
)
async def decide_pii(request: Request, platform: PlatformDep, code: str, number: RowId) -> Response:
    """One decision per flagged field: ``decision_<field>`` is accept or dismiss, ``reason_<field>`` why."""
    who = await run_in_threadpool(signed_in_visitor, request, platform)
    if isinstance(who, Response):
        return who
    form = await request.form(max_files=0, max_fields=1000, max_part_size=4 * 1024)
    check_form(request, who, str(form.get("csrf", "")))
    decisions = []
    for key, value in form.multi_items():
        if key.startswith("decision_") and value in ("accept", "dismiss"):
            name = key.removeprefix("decision_")
            reason = str(form.get(f"reason_{name}", ""))
            decisions.append({"field": name, "decision": value, "reason": reason})
    try:
        checked = [PiiDecision.model_validate(d) for d in decisions]
        await run_in_threadpool(_decide, platform, who, code, number, checked)
    except (SluiceError, ValidationError) as error:
        return await run_in_threadpool(
            _version_page,
            request,
            platform,
            who,
            code,
            number,
            problem=problem_text(error),
            status=problem_status(error),
        )
    return RedirectResponse(f"/workspace/resources/{code}/versions/{number}?decided=1", status_code=303)


def _decide(platform: Platform, who: Visitor, code: str, number: int, decisions: list[PiiDecision]) -> None:
    with platform.transaction() as session:
        lake.decide_pii(session, who.actor, code=code, number=number, decisions=decisions)
