"""The auditor's console: the signed tree head and a verification run from the page, who used which data
(searchable by period, organisation and resource), denied attempts, unusual volumes, a chart of flows per day and
organisation, and a proof viewer for one entry. Reads only; the auditor changes nothing (a verification is
itself logged)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from sluice.api.deps import PlatformDep
from sluice.audit import service as audit
from sluice.audit.merkle import verify_inclusion
from sluice.audit.schemas import InclusionProof, TreeHead
from sluice.audit.views import DailyRows
from sluice.errors import SluiceError
from sluice.web import charts, i18n
from sluice.web.i18n import CHINA, _
from sluice.web.rendering import render
from sluice.web.security import FORM_BODY_MAX, SMALL_FORMS, Visitor, check_form, signed_in_visitor, visitor

router = APIRouter(include_in_schema=False, form_limits=SMALL_FORMS, max_body_size=FORM_BODY_MAX)

DEFAULT_DAYS = 30
MOST_DAYS = 366
CHART_SERIES = 8


@router.get("/audit", response_class=HTMLResponse)
def console(
    request: Request,
    platform: PlatformDep,
    *,
    start: str = "",
    end: str = "",
    organisation: str = "",
    resource: str = "",
    index: str = "",
    event: str = "",
) -> Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    first, last = _period(start, end)
    with platform.reading() as session:
        report = audit.access_report(
            session,
            who.actor,
            start=first,
            end=last,
            resource=resource.strip() or None,
            organisation=organisation.strip() or None,
        )
        head = _head(session, who)
        proof, problem = _proof(session, who, index, event)
    return render(
        request,
        who,
        "audit.html",
        report=report,
        head=head,
        proof=proof,
        proof_problem=problem,
        chart=_daily_chart(report.daily),
        asked={
            "start": first.astimezone(CHINA).date().isoformat(),
            "end": (last.astimezone(CHINA) - timedelta(days=1)).date().isoformat(),
            "organisation": organisation,
            "resource": resource,
            "index": index,
            "event": event,
        },
        verification=None,
    )


@router.post("/audit/verify", response_class=HTMLResponse)
def verify(request: Request, platform: PlatformDep, csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    who = visitor(request, platform)
    check_form(request, who, csrf)
    with platform.transaction() as session:
        result = audit.verify_log(session, who.actor, keys_dir=platform.settings.keys_dir, signer=platform.signer)
    with platform.reading() as session:
        head = _head(session, who)
    return render(request, who, "audit_verified.html", verification=result, head=head)


def _period(start: str, end: str) -> tuple[datetime, datetime]:
    """[first day 00:00, day after the last 00:00) in China time; the last 30 days unless given."""
    today = datetime.now(CHINA).date()
    try:
        last_day = date.fromisoformat(end) if end else today
        first_day = date.fromisoformat(start) if start else last_day - timedelta(days=DEFAULT_DAYS - 1)
        if last_day < first_day:
            first_day, last_day = last_day, first_day
        first_day = max(first_day, last_day - timedelta(days=MOST_DAYS - 1))  # one report covers at most a year
        begin = datetime.combine(first_day, time(0), tzinfo=CHINA).astimezone(UTC)
        finish = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=CHINA).astimezone(UTC)
    except (ValueError, OverflowError):  # not a date, or beyond the calendar's ends
        return _period("", "")
    return begin, finish


def _head(session: Session, who: Visitor) -> TreeHead | None:
    try:
        return audit.latest_tree_head(session, who.actor)
    except SluiceError:
        return None


def _proof(session: Session, who: Visitor, index: str, event: str) -> tuple[dict[str, object] | None, str | None]:
    """The inclusion proof of one entry, and whether it holds against the signed head it names."""
    if not index.strip() and not event.strip():
        return None, None
    try:
        found: InclusionProof = audit.inclusion_proof(
            session,
            who.actor,
            index=int(index) if index.strip() else None,
            event=int(event) if event.strip() and not index.strip() else None,
        )
    except ValueError:
        return None, _("Give an entry's index or an audit event's number.")
    except SluiceError as error:
        return None, error.message
    holds = verify_inclusion(
        bytes.fromhex(found.leaf_hash),
        found.index,
        found.tree_size,
        [bytes.fromhex(step) for step in found.proof],
        bytes.fromhex(found.root_hash),
    )
    return {"proof": found, "holds": holds}, None


def _daily_chart(daily: list[DailyRows]) -> Markup:
    """Rows delivered per day, one line per receiving organisation (the busiest ones)."""
    days = sorted({row.day for row in daily})
    by_org: dict[str, dict[str, int]] = defaultdict(dict)
    for row in daily:
        by_org[row.organisation or "—"][row.day] = row.rows
    busiest = sorted(by_org, key=lambda org: -sum(by_org[org].values()))[:CHART_SERIES]
    series = [charts.Series(org, [by_org[org].get(day, 0) for day in days]) for org in busiest]
    svg = charts.line_chart(
        series,
        title=_("Rows delivered per day, by receiving organisation"),
        x_labels=days,
        empty_text=_("No deliveries in this period."),
        value_label=i18n.number,
    )
    return Markup(svg)  # noqa: S704 - sluice.web.charts escapes every text it draws
