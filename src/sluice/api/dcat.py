"""DCAT-AP 3 views of the catalog: /catalog.ttl, /catalog.jsonld, /dataset/{code}.ttl|.jsonld."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["dcat"])
