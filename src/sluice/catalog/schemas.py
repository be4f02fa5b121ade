"""What the catalog use cases take and return."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator, model_validator

from sluice.catalog.vocab import (
    Category,
    FieldType,
    Format,
    Grade,
    OpenType,
    RevisionStatus,
    Sensitivity,
    SharingType,
    UpdateCycle,
)

RESOURCE_CODE_PATTERN = r"^[a-z][a-z0-9_]{1,31}\.[a-z][a-z0-9_]{1,63}$"
RESOURCE_CODE_RULE = "<organisation code>.<name>, lower-case letters, digits and '_' (e.g. psb.residents)"
FIELD_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
ELEMENT_CODE_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class Contact(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)


class FieldSpec(BaseModel):
    """One information item (信息项) of a resource."""

    name: str = Field(description="Column name: lower-case letters, digits and '_', starting with a letter.")
    title_zh: str = Field(min_length=1, max_length=200)
    title_en: str = Field(min_length=1, max_length=200)
    type: FieldType = FieldType.STRING
    nullable: bool = True
    primary_key: bool = False
    data_element: str | None = Field(default=None, description="Code of the data element the values conform to.")
    sensitivity: Sensitivity = Sensitivity.NONE

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(FIELD_NAME_PATTERN, value):
            raise ValueError(
                f"{value!r} is not a valid field name: lower-case letters, digits and '_', starting with a letter"
            )
        return value


class ResourceDescription(BaseModel):
    """Everything a provider says about a resource; one revision of the catalog entry."""

    title_zh: str = Field(min_length=1, max_length=200)
    title_en: str = Field(min_length=1, max_length=200)
    abstract_zh: str = Field(default="", max_length=4000)
    abstract_en: str = Field(default="", max_length=4000)
    category: Category = Category.DEPARTMENTAL
    tags: list[Tag] = Field(default_factory=list, max_length=20, description="Topic tags (zh or en).")
    update_cycle: UpdateCycle = UpdateCycle.IRREGULAR
    contact: Contact
    licence: str | None = Field(default=None, max_length=100, description="Licence of open data, e.g. CC-BY-4.0.")
    sharing_type: SharingType
    legal_basis: str | None = Field(default=None, max_length=1000, description="Required when not shared.")
    open_type: OpenType = OpenType.NOT_OPEN
    grade: Grade = Grade.GENERAL
    formats: list[Format] = Field(default_factory=lambda: [Format.CSV])
    fields: list[FieldSpec] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _dedupe_tags(self) -> ResourceDescription:
        self.tags = list(dict.fromkeys(self.tags))
        self.formats = list(dict.fromkeys(self.formats))
        return self


class ResourceCreate(ResourceDescription):
    code: str = Field(
        description=f"Resource code: {RESOURCE_CODE_RULE}.", json_schema_extra={"pattern": RESOURCE_CODE_PATTERN}
    )

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not re.fullmatch(RESOURCE_CODE_PATTERN, value):
            raise ValueError(f"{value!r} is not a valid resource code: {RESOURCE_CODE_RULE}")
        return value


class ReviewDecision(BaseModel):
    decision: str = Field(pattern="^(publish|return)$", description="`publish` or `return` (with a comment).")
    comment: str = Field(default="", max_length=4000)


class RevisionPublic(BaseModel):
    number: int
    status: RevisionStatus
    description: ResourceDescription
    created_by: str
    created_at: datetime
    submitted_at: datetime | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_comment: str | None


class ReuseHint(BaseModel):
    resource: str
    title_zh: str
    title_en: str
    organisation: str
    sharing_type: SharingType
    data_elements: list[str] = Field(description="The data elements both resources hold.")


class UseCounts(BaseModel):
    views: int = Field(description="Views of the dataset's page outside its department.")
    downloads: int = Field(description="Governed downloads.")
    calls: int = Field(description="Other governed answers: API queries, row pages, previews.")


class ResourcePublic(ResourceDescription):
    """A resource as a caller sees it: the published description, or (for its provider) the working one."""

    code: str
    organisation: str
    organisation_name_zh: str
    organisation_name_en: str
    revision: int
    status: RevisionStatus
    created_at: datetime
    published_at: datetime | None
    updated_at: datetime
    pending_revision: int | None = Field(default=None, description="A newer revision under work or review.")
    counts: UseCounts = Field(default_factory=lambda: UseCounts(views=0, downloads=0, calls=0))
    could_apply_for: list[ReuseHint] = Field(
        default_factory=list,
        description="On registration and edits: shared resources of other departments holding the same data "
        "elements. Data that can be obtained by sharing must not be collected again.",
    )


class ResourceSummary(BaseModel):
    code: str
    title_zh: str
    title_en: str
    organisation: str
    category: Category
    sharing_type: SharingType
    open_type: OpenType
    grade: Grade
    tags: list[str]
    formats: list[Format]
    status: RevisionStatus
    published_at: datetime | None
    use_count: int


class Sort(StrEnum):
    RELEVANCE = "relevance"
    NEWEST = "newest"
    MOST_USED = "most_used"
    CODE = "code"


FACETS = ("organisation", "category", "tag", "sharing_type", "open_type", "grade", "format")


class SearchQuery(BaseModel):
    """A catalog search: words, filters (each may repeat: values of one filter are OR-ed), sort and page."""

    q: str = Field(default="", max_length=200, description="Words, in Chinese or English; all must match.")
    organisation: list[str] = Field(default_factory=list)
    category: list[Category] = Field(default_factory=list)
    tag: list[str] = Field(default_factory=list)
    sharing_type: list[SharingType] = Field(default_factory=list)
    open_type: list[OpenType] = Field(default_factory=list)
    grade: list[Grade] = Field(default_factory=list)
    format: list[Format] = Field(default_factory=list)
    published_only: bool = Field(default=False, description="Leave out the caller's own unpublished drafts.")
    sort: Sort | None = Field(default=None, description="Default: relevance with words, newest without.")
    offset: int = Field(default=0, ge=0, le=100_000)
    limit: int = Field(default=20, ge=0, le=1000)
    facets: list[str] = Field(default_factory=lambda: list(FACETS))
    facet_limit: int = Field(default=50, ge=1, le=1000, description="The most values per facet, largest counts first.")

    @field_validator("facets")
    @classmethod
    def _known_facets(cls, value: list[str]) -> list[str]:
        unknown = [f for f in value if f not in FACETS]
        if unknown:
            raise ValueError(f"unknown facet {unknown[0]!r}; facets are {', '.join(FACETS)}")
        return value


class FacetValue(BaseModel):
    value: str
    count: int


class SearchResult(BaseModel):
    count: int
    items: list[ResourceSummary]
    facets: dict[str, list[FacetValue]]
    next: str | None = None


class DataElementCreate(BaseModel):
    code: str = Field(json_schema_extra={"pattern": ELEMENT_CODE_PATTERN})
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    standard: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=2000)
    pattern: str | None = Field(
        default=None, max_length=500, description="A regular expression values must fully match."
    )
    codes: list[str] | None = Field(default=None, max_length=100_000, description="The allowed values (a code list).")
    validator: str | None = Field(default=None, description="The name of a built-in validator.")

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not re.fullmatch(ELEMENT_CODE_PATTERN, value):
            raise ValueError(f"{value!r} is not a valid element code: lower-case letters, digits and '_'")
        return value

    @model_validator(mode="after")
    def _exactly_one_rule(self) -> DataElementCreate:
        given = [name for name in ("pattern", "codes", "validator") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of pattern, codes or validator")
        return self


class DataElementPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name_zh: str
    name_en: str
    standard: str
    description: str
    kind: str
    pattern: str | None
    codes_count: int | None
    validator: str | None
    sql: str = Field(description="The rule as a DuckDB SQL predicate over the column `value`.")
