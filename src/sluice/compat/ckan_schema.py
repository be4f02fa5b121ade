"""How CKAN sees the catalog, both ways: Sluice resources and organisations as CKAN dicts, and CKAN's search
parameters (Solr-style ``q`` and ``fq``, ``sort``, ``facet.field``) as a ``SearchQuery``.

Pure functions: no HTTP, no database. A CKAN package is a Sluice resource; a CKAN resource is one format
(distribution) of it, named ``<code>:<format>``; a CKAN group is a resource category.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sluice.catalog.schemas import FieldSpec, ResourcePublic, SearchQuery, SearchResult, Sort
from sluice.catalog.vocab import (
    LABELS,
    Category,
    FieldType,
    Format,
    Grade,
    OpenType,
    RevisionStatus,
    SharingType,
    label_of,
)
from sluice.errors import Invalid, NotFound
from sluice.identity.schemas import OrganisationPublic

Json = dict[str, Any]

CKAN_VERSION = "2.10.0"
MAX_ROWS = 1000  # CKAN's ckan.search.rows_max, and the most SearchQuery pages
MAX_START = 100_000  # the deepest offset SearchQuery accepts
DEFAULT_SORT = "score desc, metadata_modified desc"

SORTS: dict[str, Sort] = {
    "score desc": Sort.RELEVANCE,
    "metadata_modified desc": Sort.NEWEST,
    "name asc": Sort.CODE,
    "views_recent desc": Sort.MOST_USED,
}

# CKAN (Solr) field -> SearchQuery filter; owner_org is an organisation's id, which here is its code.
FILTERS: dict[str, str] = {
    "organization": "organisation",
    "owner_org": "organisation",
    "tags": "tag",
    "res_format": "format",
    "groups": "category",
    "sharing_type": "sharing_type",
    "open_type": "open_type",
    "grade": "grade",
}

# CKAN facet field -> Sluice facet
FACETS: dict[str, str] = {
    "organization": "organisation",
    "tags": "tag",
    "res_format": "format",
    "groups": "category",
    "sharing_type": "sharing_type",
    "open_type": "open_type",
    "grade": "grade",
}

# Fields every package has one value of: a filter on them matches all packages or none.
CONSTANTS: dict[str, str] = {"dataset_type": "dataset"}

VOCABULARIES: dict[str, type[StrEnum]] = {
    "format": Format,
    "category": Category,
    "sharing_type": SharingType,
    "open_type": OpenType,
    "grade": Grade,
}

DATASTORE_TYPES: dict[FieldType, str] = {
    FieldType.STRING: "text",
    FieldType.INTEGER: "int",
    FieldType.DECIMAL: "numeric",
    FieldType.BOOLEAN: "bool",
    FieldType.DATE: "date",
    FieldType.TIMESTAMP: "timestamp",
}

MEDIA_TYPES: dict[Format, str] = {
    Format.CSV: "text/csv",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.JSON: "application/json",
    Format.PARQUET: "application/vnd.apache.parquet",
    Format.API: "application/json",
}


# --- Sluice -> CKAN --------------------------------------------------------------------------------------


def timestamp(at: datetime | None) -> str | None:
    """CKAN's form: naive UTC with microseconds (``2026-11-30T09:00:00.000000``)."""
    if at is None:
        return None
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def translated(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def organization(code: str, name_zh: str, name_en: str) -> Json:
    """The organization as embedded in a package."""
    return {
        "id": code,
        "name": code,
        "title": name_zh,
        "display_name": name_zh,
        "title_en": name_en,
        "title_translated": translated(name_zh, name_en),
        "description": "",
        "image_url": "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
    }


def organization_details(org: OrganisationPublic, package_count: int) -> Json:
    """An organization as organization_list (all_fields) and organization_show give it."""
    return {
        **organization(org.code, org.name_zh, org.name_en),
        "created": timestamp(org.created_at),
        "package_count": package_count,
        "num_followers": 0,
        "extras": [{"key": "kind", "value": org.kind.value}],
    }


def tag(name: str) -> Json:
    return {"id": name, "name": name, "display_name": name, "state": "active", "vocabulary_id": None}


def group(category: Category) -> Json:
    zh, en = label_of(category)
    return {"id": category.value, "name": category.value, "title": zh, "display_name": zh, "title_en": en}


def field_dict(spec: FieldSpec) -> Json:
    """An information item in the form of CKAN's DataStore field descriptions, plus Sluice's own facts."""
    return {
        "id": spec.name,
        "type": DATASTORE_TYPES[spec.type],
        "info": {"label": spec.title_zh, "label_en": spec.title_en, "notes": ""},
        "title_translated": translated(spec.title_zh, spec.title_en),
        "nullable": spec.nullable,
        "primary_key": spec.primary_key,
        "data_element": spec.data_element,
        "sensitivity": spec.sensitivity.value,
    }


def extras(resource: ResourcePublic) -> list[Json]:
    values = {
        "sharing_type": resource.sharing_type.value,
        "open_type": resource.open_type.value,
        "grade": resource.grade.value,
        "update_cycle": resource.update_cycle.value,
        "category": resource.category.value,
        "legal_basis": resource.legal_basis,
    }
    return [{"key": key, "value": value} for key, value in values.items() if value is not None]


def described_at(resource: ResourcePublic) -> datetime:
    """When the description shown last changed: its publication, or (unpublished) the last edit."""
    return resource.published_at or resource.updated_at


def distribution_id(code: str, fmt: Format) -> str:
    return f"{code}:{fmt.value.lower()}"


def distribution_ref(resource_id: str) -> tuple[str, Format]:
    """The resource code and format a CKAN resource id names."""
    code, _, name = resource_id.rpartition(":")
    for fmt in Format:
        if code and fmt.value.lower() == name.lower():
            return code, fmt
    raise NotFound(
        f"no resource {resource_id!r}; CKAN resource ids here are <resource code>:<format>, e.g. psb.residents:api",
        resource=resource_id,
    )


def distribution(resource: ResourcePublic, fmt: Format, base: str) -> Json:
    """One format of a resource, as a CKAN resource."""
    modified = timestamp(described_at(resource))
    return {
        "id": distribution_id(resource.code, fmt),
        "package_id": resource.code,
        "name": f"{resource.title_zh} ({fmt.value})",
        "name_translated": translated(f"{resource.title_zh} ({fmt.value})", f"{resource.title_en} ({fmt.value})"),
        "description": resource.abstract_zh,
        "format": fmt.value,
        "mimetype": MEDIA_TYPES[fmt],
        "url": f"{base}/api/v1/resources/{resource.code}/download?format={fmt.value}",
        "url_type": None,
        "resource_type": "api" if fmt is Format.API else "file",
        "position": resource.formats.index(fmt),
        "state": "active",
        "created": timestamp(resource.created_at),
        "last_modified": modified,
        "metadata_modified": modified,
    }


def package(resource: ResourcePublic, base: str) -> Json:
    """A resource as a CKAN package (dataset)."""
    modified = timestamp(described_at(resource))
    return {
        "id": resource.code,
        "name": resource.code,
        "type": "dataset",
        "state": "active" if resource.status is RevisionStatus.PUBLISHED else "draft",
        "private": resource.open_type is OpenType.NOT_OPEN,
        "title": resource.title_zh,
        "title_en": resource.title_en,
        "title_translated": translated(resource.title_zh, resource.title_en),
        "notes": resource.abstract_zh,
        "notes_translated": translated(resource.abstract_zh, resource.abstract_en),
        "url": f"{base}/api/v1/resources/{resource.code}",
        "version": str(resource.revision),
        "author": resource.organisation_name_zh,
        "author_email": None,
        "maintainer": resource.contact.name,
        "maintainer_email": resource.contact.email,
        "license_id": resource.licence,
        "license_title": resource.licence,
        "isopen": resource.open_type is OpenType.OPEN,
        "metadata_created": timestamp(resource.created_at),
        "metadata_modified": modified,
        "owner_org": resource.organisation,
        "organization": organization(
            resource.organisation, resource.organisation_name_zh, resource.organisation_name_en
        ),
        "tags": [tag(t) for t in resource.tags],
        "num_tags": len(resource.tags),
        "groups": [group(resource.category)],
        "resources": [distribution(resource, fmt, base) for fmt in resource.formats],
        "num_resources": len(resource.formats),
        "extras": extras(resource),
        "fields": [field_dict(f) for f in resource.fields],
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


def search_result(
    result: SearchResult, packages: list[Json], facet_fields: list[str], facet_limit: int, display: Mapping[str, str]
) -> Json:
    """package_search's result. ``display`` names organizations by code in search_facets."""
    facets = {name: _facet_values(result, name, facet_limit) for name in facet_fields}
    return {
        "count": result.count,
        "results": packages,
        "facets": {name: dict(values) for name, values in facets.items()},
        "search_facets": {
            name: {
                "title": name,
                "items": [
                    {"name": value, "display_name": _display_name(name, value, display), "count": count}
                    for value, count in values
                ],
            }
            for name, values in facets.items()
        },
    }


def _facet_values(result: SearchResult, name: str, limit: int) -> list[tuple[str, int]]:
    values = [(v.value, v.count) for v in result.facets.get(FACETS[name], [])]
    return values if limit < 0 else values[:limit]


def _display_name(facet: str, value: str, organizations: Mapping[str, str]) -> str:
    if facet == "organization":
        return organizations.get(value, value)
    vocabulary = VOCABULARIES.get(FACETS[facet])
    label = LABELS.get((vocabulary, value)) if vocabulary is not None else None
    return label[0] if label else value


# --- CKAN -> Sluice --------------------------------------------------------------------------------------


def sort_order(text: str) -> Sort | None:
    """The Sort for a CKAN sort string; its first clause decides (CKAN's default is relevance, then newest)."""
    if not text.strip():
        return None
    first = " ".join(text.split(",", maxsplit=1)[0].lower().split())
    if first not in SORTS:
        raise Invalid(f"sort {text!r} is not supported; use one of: {', '.join(SORTS)}", field="sort")
    return SORTS[first]


def facet_names(fields: list[str]) -> list[str]:
    unknown = [f for f in fields if f not in FACETS]
    if unknown:
        raise Invalid(
            f"facet.field {unknown[0]!r} is not supported; facet fields are: {', '.join(FACETS)}", field="facet.field"
        )
    return list(dict.fromkeys(fields))


@dataclass
class Criteria:
    """What ``q`` and ``fq`` ask for: words, filters (SearchQuery name -> values, OR-ed) and whether a value
    was asked for that no resource can have (an unknown format or category)."""

    words: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    impossible: bool = False


_TERM = re.compile(
    r"""\s*(?P<sign>[+-]?)
        (?:(?P<field>[A-Za-z_][A-Za-z0-9_]*):)?
        (?:"(?P<quoted>[^"]*)"|\((?P<group>[^()]*)\)|(?P<bare>[^\s"()]+))""",
    re.VERBOSE,
)
_OR = re.compile(r"\s+OR\s+|\s*\|\|\s*")
_CONJUNCTIONS = {"AND", "&&"}
_UNSUPPORTED = {"OR", "||", "NOT", "!"}
MATCH_ALL = {"*", "*:*"}
FQ_SYNTAX = 'field:value, field:"quoted value" or field:(a OR b), joined by spaces or AND'


def criteria(q: str, fq: str) -> Criteria:
    """Words and filters from ``q`` (filters on known fields, everything else words) and ``fq`` (filters only)."""
    found = Criteria()
    for term in _terms(q, "q"):
        if term.field in FILTERS or term.field in CONSTANTS:
            _add_filter(found, term)
        elif term.text not in MATCH_ALL:
            found.words.append(term.text)
    for term in _terms(fq, "fq"):
        if term.field not in FILTERS and term.field not in CONSTANTS:
            supported = ", ".join([*FILTERS, *CONSTANTS])
            raise Invalid(
                f"fq: {term.text!r} is not a filter this catalog supports; filter on {supported} ({FQ_SYNTAX})",
                field="fq",
            )
        _add_filter(found, term)
    return found


def search_query(
    found: Criteria, *, rows: int, start: int, sort: Sort | None, facet_fields: list[str]
) -> SearchQuery | None:
    """The SearchQuery, or None when the filters can match nothing."""
    if found.impossible:
        return None
    return SearchQuery.model_validate(
        {
            "q": " ".join(found.words),
            **found.filters,
            "sort": sort,
            "offset": start,
            "limit": rows,
            "facets": [FACETS[f] for f in facet_fields],
        }
    )


def empty_result(facet_fields: list[str]) -> SearchResult:
    return SearchResult(count=0, items=[], facets={FACETS[f]: [] for f in facet_fields})


@dataclass(frozen=True)
class _Term:
    text: str
    field: str | None
    values: list[str]
    where: str  # the parameter it came from: q or fq


def _terms(text: str, where: str) -> Iterator[_Term]:
    position = 0
    while text[position:].strip():
        match = _TERM.match(text, position)
        if match is None:
            raise Invalid(f"{where}: cannot read {text[position:].strip()!r} ({FQ_SYNTAX})", field=where)
        position = match.end()
        bare = match["bare"]
        if match["field"] is None and bare in _CONJUNCTIONS:
            continue
        if match["sign"] == "-" or (match["field"] is None and bare in _UNSUPPORTED):
            raise Invalid(f"{where}: OR, NOT and negation are not supported here ({FQ_SYNTAX})", field=where)
        yield _Term(match.group(0).strip().lstrip("+"), match["field"], _values(match, where), where)


def _values(match: re.Match[str], where: str) -> list[str]:
    if match["group"] is None:
        return [match["quoted"] if match["quoted"] is not None else match["bare"]]
    if match["field"] is None or re.search(r"\b(AND|NOT)\b|&&", match["group"]):
        raise Invalid(f"{where}: a group must follow a field and list alternatives ({FQ_SYNTAX})", field=where)
    return [value.strip().strip('"') for value in _OR.split(match["group"]) if value.strip().strip('"')]


def _add_filter(found: Criteria, term: _Term) -> None:
    assert term.field is not None
    if term.field in CONSTANTS:
        found.impossible = found.impossible or CONSTANTS[term.field] not in [*term.values, "*"]
        return
    name = FILTERS[term.field]
    if name in found.filters:
        raise Invalid(
            f"{term.field} is filtered twice; filter each field once, as {term.field}:(a OR b) for any of "
            "several values",
            field=term.where,
        )
    if term.values == ["*"]:
        return
    vocabulary = VOCABULARIES.get(name)
    values = term.values if vocabulary is None else _members(vocabulary, term.values)
    found.filters[name] = values
    found.impossible = found.impossible or not values


def _members(vocabulary: type[StrEnum], values: list[str]) -> list[str]:
    """The values that name members of a vocabulary, in any case (res_format:csv is CSV)."""
    by_name = {member.value.lower(): member.value for member in vocabulary}
    return [by_name[v.lower()] for v in values if v.lower() in by_name]
