"""Feedback on datasets: anyone sends it (rate-limited per address), the dataset's department reads it with the
sender's contact and answers it once; nobody else sees the contact. And each dataset's counters: page views
outside its department, downloads, other calls."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from sluice.catalog import service as catalog
from sluice.errors import Conflict, Forbidden, NotFound
from sluice.feedback import service
from sluice.feedback.schemas import FeedbackAnswer, FeedbackCreate
from sluice.gateway.querying import download
from sluice.identity.actor import Actor
from sluice.inbox import service as inbox
from sluice.platform import Platform
from tests.sharing.conftest import as_

OPEN = "psb.population_stats"


def give(platform: Platform, actor: Actor, code: str = OPEN, message: str = "2025 年东城区人口数与统计公报不符") -> int:
    with platform.transaction() as session:
        data = FeedbackCreate(message=message, contact="138 0000 0000")
        return service.give_feedback(session, actor, code=code, data=data).id


def test_anyone_sends_feedback_and_the_department_answers_it_once(demo: Platform) -> None:
    sent = give(demo, Actor.anonymous())
    with demo.reading() as session:
        theirs = service.list_feedback(session, as_(demo, "psb-admin")).items
        managers = service.list_feedback(session, as_(demo, "manager"), box="all").items
        others = service.list_feedback(session, as_(demo, "tax-admin")).items
    assert [(f.id, f.given_by, f.contact) for f in theirs] == [(sent, "anonymous", "138 0000 0000")]
    assert [(f.id, f.contact) for f in managers] == [(sent, None)]  # the contact is the department's only
    assert others == []
    with demo.transaction() as session, pytest.raises(Forbidden, match="another department"):
        service.answer_feedback(
            session, as_(demo, "tax-admin"), feedback_id=sent, data=FeedbackAnswer(answer="不是我们的")
        )
    with demo.transaction() as session:
        answered = service.answer_feedback(
            session, as_(demo, "psb-admin"), feedback_id=sent, data=FeedbackAnswer(answer="已核对，将在下一版本更正")
        )
    assert (answered.status.value, answered.answered_by) == ("answered", "psb-admin")
    with demo.transaction() as session, pytest.raises(Conflict, match="already answered"):
        service.answer_feedback(session, as_(demo, "psb-admin"), feedback_id=sent, data=FeedbackAnswer(answer="再答"))
    with demo.reading() as session:
        notices = [n for n in inbox.list_notices(session, as_(demo, "psb-admin")) if n.kind == "feedback.new"]
    assert len(notices) == 1
    assert "2025" not in notices[0].message  # the sender's words stay on the feedback page (and off webhooks)


def test_a_flood_of_feedback_is_one_unread_notice_per_dataset(demo: Platform) -> None:
    for _ in range(3):
        give(demo, Actor.anonymous())
    give(demo, Actor.anonymous(), code="psb.population_stats")
    with demo.reading() as session:
        notices = [n for n in inbox.list_notices(session, as_(demo, "psb-admin")) if n.kind == "feedback.new"]
        assert len(notices) == 1
        assert len(service.list_feedback(session, as_(demo, "psb-admin")).items) == 4
    with demo.transaction() as session:
        inbox.mark_read(session, as_(demo, "psb-admin"), notice_id=notices[0].id)
    give(demo, Actor.anonymous())  # read: the next one is news again
    with demo.reading() as session:
        unread = inbox.list_notices(session, as_(demo, "psb-admin"), unread_only=True)
    assert [n.kind for n in unread if n.kind == "feedback.new"] == ["feedback.new"]


def test_feedback_only_on_what_the_sender_may_see(demo: Platform) -> None:
    with pytest.raises(NotFound, match=r"psb\.residents"):
        give(demo, Actor.anonymous(), code="psb.residents")  # not open data: the public cannot see it
    assert give(demo, as_(demo, "civil-analyst"), code="psb.residents") > 0  # a department sees it


def test_feedback_is_rate_limited_per_address(demo_client: TestClient) -> None:
    body = {"kind": "error", "message": "数字对不上，请核对"}
    codes = [demo_client.post(f"/api/v1/resources/{OPEN}/feedback", json=body).status_code for _ in range(6)]
    assert codes == [201] * 5 + [429]


def test_counters_count_views_outside_the_department_and_downloads(demo: Platform, demo_client: TestClient) -> None:
    def counts() -> tuple[int, int, int]:
        with demo.reading() as session:
            c = catalog.get_resource(session, Actor.anonymous(), code=OPEN).counts
        return c.views, c.downloads, c.calls

    before = counts()
    demo_client.get(f"/datasets/{OPEN}", headers={"accept": "text/html"})
    with demo.transaction() as session:
        catalog.count_view(session, as_(demo, "psb-admin"), code=OPEN)  # its own department: not counted
        catalog.count_view(session, Actor.anonymous(), code="psb.residents")  # not visible to the public: no-op
    download(demo, Actor.anonymous(), OPEN, fmt="csv", purpose="open data").file.close()
    demo_client.get(f"/api/v1/resources/{OPEN}/rows", params={"_size": 1})
    after = counts()
    assert after[0] - before[0] == 1  # the one anonymous page view
    assert after[1] - before[1] == 1
    assert after[2] - before[2] >= 2  # the row page, and the anonymous page's preview through the gateway
    with demo.reading() as session:
        hidden = catalog.get_resource(session, as_(demo, "psb-admin"), code="psb.residents").counts.views
    assert hidden == 0
