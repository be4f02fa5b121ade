"""The manager's console: the review queue (publish or return a submitted revision, with what changed from the
published one), and catalog health (fields without a data standard, unanswered applications by department)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from sluice.api.deps import PlatformDep
from sluice.catalog import service as catalog
from sluice.catalog.rules import needs_two_people
from sluice.catalog.schemas import ResourceDescription, ReviewDecision, RevisionPublic, SearchQuery
from sluice.errors import SluiceError
from sluice.lake import service as lake
from sluice.platform import Platform
from sluice.sharing import service as sharing
from sluice.web.rendering import problem_status, problem_text, render
from sluice.web.security import FORM_BODY_MAX, SMALL_FORMS, Visitor, check_form, signed_in_visitor

router = APIRouter(include_in_schema=False, form_limits=SMALL_FORMS, max_body_size=FORM_BODY_MAX)

HEALTH_RESOURCES = 1000


@router.get("/manage/reviews", response_class=HTMLResponse)
def reviews(request: Request, platform: PlatformDep) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    with platform.reading() as session:
        queue = catalog.list_review_queue(session, who.actor)
    return render(request, who, "reviews.html", queue=queue)


@router.get("/manage/held", response_class=HTMLResponse)
def held_versions(request: Request, platform: PlatformDep) -> Response:
    """Versions held because fields look personal while the catalog says they are not: the manager decides
    them like the provider."""
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    with platform.reading() as session:
        held = lake.list_held(session, who.actor)
    return render(request, who, "held.html", held=held)


@router.get("/manage/reviews/{code}", response_class=HTMLResponse)
def review(request: Request, platform: PlatformDep, code: str) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    return _review_page(request, platform, who, code, problem=None)


def _review_page(
    request: Request, platform: Platform, who: Visitor, code: str, *, problem: str | None, status: int = 200
) -> Response:
    with platform.reading() as session:
        revisions = catalog.list_revisions(session, who.actor, code=code)
    submitted = next((r for r in revisions if r.status.value == "submitted"), None)
    published = next((r for r in revisions if r.status.value == "published"), None)
    return render(
        request,
        who,
        "review.html",
        status,
        code=code,
        submitted=submitted,
        published=published,
        changes=_changes(published, submitted),
        two_person=_two_person(published, submitted),
        problem=problem,
    )


def _two_person(before: RevisionPublic | None, after: RevisionPublic | None) -> bool:
    """Whether publishing ``after`` falls under the two-person rule (the use case enforces it; this says so)."""
    if after is None:
        return False
    return needs_two_people(before.description if before else None, after.description)


def _changes(before: RevisionPublic | None, after: RevisionPublic | None) -> list[tuple[str, str, str]]:
    """(what, before, after) for each part of the description that differs."""
    if after is None:
        return []
    old = before.description.model_dump(mode="json") if before else {}
    new = after.description.model_dump(mode="json")
    found = []
    for name in ResourceDescription.model_fields:
        if old.get(name) != new.get(name):
            found.append((name, _shown(old.get(name)), _shown(new.get(name))))
    return found


def _shown(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(item.get("name", str(item)) if isinstance(item, dict) else str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items() if v)
    return str(value)


@router.post("/manage/reviews/{code}", response_class=HTMLResponse)
def decide(
    request: Request,
    platform: PlatformDep,
    code: str,
    *,
    decision: Annotated[str, Form(max_length=10)] = "",
    comment: Annotated[str, Form(max_length=4000)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    check_form(request, who, csrf)
    try:
        with platform.transaction() as session:
            catalog.review_resource(
                session, who.actor, code=code, decision=ReviewDecision(decision=decision, comment=comment)
            )
    except (SluiceError, ValidationError) as error:
        return _review_page(request, platform, who, code, problem=problem_text(error), status=problem_status(error))
    return RedirectResponse("/manage/reviews", status_code=303)


@router.get("/manage/health", response_class=HTMLResponse)
def health(request: Request, platform: PlatformDep) -> Response:
    """Per department: resources, how many fields lack a data standard, applications waiting and overdue."""
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    with platform.reading() as session:
        found = catalog.search_resources(
            session, who.actor, query=SearchQuery(limit=HEALTH_RESOURCES, facets=[], sort="code")
        )
        described = catalog.get_resources(session, who.actor, codes=[item.code for item in found.items])
        most = min(500, platform.settings.page_size_max)
        waiting = sharing.list_applications(session, who.actor, box="all", status=["pending", "escalated"], limit=most)
    rows: dict[str, Counter[str]] = {}
    for resource in described:
        tally = rows.setdefault(resource.organisation, Counter())
        tally["resources"] += 1
        tally["published"] += resource.published_at is not None
        tally["fields"] += len(resource.fields)
        tally["unstandardised"] += sum(1 for f in resource.fields if f.data_element is None)
    for application in waiting.items:
        tally = rows.setdefault(application.provider_org, Counter())
        tally["waiting"] += 1
        tally["overdue"] += application.deadline.overdue
    return render(request, who, "health.html", rows=sorted(rows.items()))
