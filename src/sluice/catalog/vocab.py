"""The catalog's controlled vocabularies, with their Chinese and English labels."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    BASE = "base"  # 基础信息资源
    THEMATIC = "thematic"  # 主题信息资源
    DEPARTMENTAL = "departmental"  # 部门信息资源


class SharingType(StrEnum):
    UNCONDITIONAL = "unconditional"  # 无条件共享
    CONDITIONAL = "conditional"  # 有条件共享
    NOT_SHARED = "not_shared"  # 不予共享 (needs a legal basis)


class OpenType(StrEnum):
    OPEN = "open"  # 无条件开放
    CONDITIONAL = "conditional"  # 有条件开放
    NOT_OPEN = "not_open"  # 不予开放


class Grade(StrEnum):
    CORE = "core"  # 核心数据
    IMPORTANT = "important"  # 重要数据
    GENERAL = "general"  # 一般数据


class UpdateCycle(StrEnum):
    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    IRREGULAR = "irregular"


class Sensitivity(StrEnum):
    NONE = "none"
    PERSONAL = "personal"  # 个人信息
    SENSITIVE = "sensitive"  # 敏感个人信息


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"


# The engine type each field type is stored and served as (DuckDB names; the lake's Parquet follows them).
SQL_TYPES: dict[FieldType, str] = {
    FieldType.STRING: "VARCHAR",
    FieldType.INTEGER: "BIGINT",
    FieldType.DECIMAL: "DECIMAL(38, 10)",
    FieldType.BOOLEAN: "BOOLEAN",
    FieldType.DATE: "DATE",
    FieldType.TIMESTAMP: "TIMESTAMP",
}


class Format(StrEnum):
    CSV = "CSV"
    XLSX = "XLSX"
    JSON = "JSON"
    PARQUET = "PARQUET"
    API = "API"


class RevisionStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


_LABELS: list[tuple[StrEnum, tuple[str, str]]] = [
    (Category.BASE, ("基础信息资源", "base resource")),
    (Category.THEMATIC, ("主题信息资源", "thematic resource")),
    (Category.DEPARTMENTAL, ("部门信息资源", "departmental resource")),
    (SharingType.UNCONDITIONAL, ("无条件共享", "shared unconditionally")),
    (SharingType.CONDITIONAL, ("有条件共享", "shared on application")),
    (SharingType.NOT_SHARED, ("不予共享", "not shared")),
    (OpenType.OPEN, ("无条件开放", "open")),
    (OpenType.CONDITIONAL, ("有条件开放", "open on application")),
    (OpenType.NOT_OPEN, ("不予开放", "not open")),
    (Grade.CORE, ("核心数据", "core data")),
    (Grade.IMPORTANT, ("重要数据", "important data")),
    (Grade.GENERAL, ("一般数据", "general data")),
    (UpdateCycle.REALTIME, ("实时", "real time")),
    (UpdateCycle.DAILY, ("每日", "daily")),
    (UpdateCycle.WEEKLY, ("每周", "weekly")),
    (UpdateCycle.MONTHLY, ("每月", "monthly")),
    (UpdateCycle.QUARTERLY, ("每季度", "quarterly")),
    (UpdateCycle.YEARLY, ("每年", "yearly")),
    (UpdateCycle.IRREGULAR, ("不定期", "irregular")),
    (Sensitivity.NONE, ("非个人信息", "not personal")),
    (Sensitivity.PERSONAL, ("个人信息", "personal information")),
    (Sensitivity.SENSITIVE, ("敏感个人信息", "sensitive personal information")),
    (FieldType.STRING, ("文本", "text")),
    (FieldType.INTEGER, ("整数", "integer")),
    (FieldType.DECIMAL, ("小数", "decimal")),
    (FieldType.BOOLEAN, ("是/否", "yes/no")),
    (FieldType.DATE, ("日期", "date")),
    (FieldType.TIMESTAMP, ("日期时间", "date and time")),
    (RevisionStatus.DRAFT, ("草稿", "draft")),
    (RevisionStatus.SUBMITTED, ("待审核", "submitted for review")),
    (RevisionStatus.RETURNED, ("已退回", "returned for changes")),
    (RevisionStatus.PUBLISHED, ("已发布", "published")),
    (RevisionStatus.SUPERSEDED, ("已被取代", "superseded")),
]


# Keyed by (vocabulary, value): members of different vocabularies with the same value ("conditional" is both a
# SharingType and an OpenType) are equal as strings, so a dict keyed by the members alone would mix them up.
LABELS: dict[tuple[type[StrEnum], str], tuple[str, str]] = {(type(m), m.value): pair for m, pair in _LABELS}


def label_of(member: StrEnum) -> tuple[str, str]:
    """The (Chinese, English) label of a vocabulary value."""
    return LABELS[(type(member), member.value)]
