"""The CKAN Action API (/api/3/action/<name>, /api/action/<name>) over the catalog use cases."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["ckan"])
