"""Liveness and readiness for load balancers and `sluice doctor`."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from sluice import __version__
from sluice.api.deps import ReadSessionDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    database: str


@router.get("/healthz", response_model=Health, summary="Is this instance up and can it reach its database?")
def healthz(session: ReadSessionDep) -> Health:
    session.execute(text("SELECT 1"))
    return Health(status="ok", version=__version__, database="ok")
