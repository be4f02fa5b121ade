"""Matching a file's columns to the catalog's fields, and saying precisely how they differ (schema drift).

A file column matches a field by the explicit mapping given with the upload, else by the field's name,
Chinese title or English title (case and surrounding spaces ignored) — clerks' spreadsheets have headers
such as 公民身份号码. Every field must be matched exactly once and every column used or explicitly dropped;
otherwise the upload is refused with the diff: missing fields, extra columns, likely renames, and columns
whose type in the file cannot hold the field's values.
"""

from __future__ import annotations

from sluice.catalog.schemas import FieldSpec
from sluice.catalog.vocab import FieldType
from sluice.errors import Invalid

# The file's own types (Parquet) each field type can be read from without losing anything.
COMPATIBLE: dict[FieldType, tuple[str, ...]] = {
    FieldType.STRING: ("VARCHAR",),
    FieldType.INTEGER: ("VARCHAR", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"),
    FieldType.DECIMAL: ("VARCHAR", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "DECIMAL", "DOUBLE", "FLOAT"),
    FieldType.BOOLEAN: ("VARCHAR", "BOOLEAN"),
    FieldType.DATE: ("VARCHAR", "DATE"),
    FieldType.TIMESTAMP: ("VARCHAR", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "DATE"),
}


def match_columns(  # noqa: PLR0912 - one branch per kind of difference, reported together
    columns: list[str],
    column_types: dict[str, str],
    fields: list[FieldSpec],
    mapping: dict[str, str | None],
    resource: str,
) -> dict[str, str | None]:
    """File column → field name (None: dropped). Refuse, with the diff, anything that does not line up."""
    by_name = {f.name: f for f in fields}
    unknown_targets = sorted({t for t in mapping.values() if t is not None and t not in by_name})
    if unknown_targets:
        raise Invalid(
            f"the mapping names field(s) {unknown_targets} that {resource} does not have; its fields: "
            f"{', '.join(by_name)}",
            field="mapping",
        )
    not_in_file = sorted(set(mapping) - set(columns))
    if not_in_file:
        raise Invalid(f"the mapping names column(s) {not_in_file} that the file does not have", field="mapping")
    lookup = _lookup(fields)
    matched: dict[str, str | None] = {}
    extra: list[str] = []
    for column in columns:
        if column in mapping:
            matched[column] = mapping[column]
            continue
        field = lookup.get(column.strip().lower())
        if field is None:
            extra.append(column)
        else:
            matched[column] = field
    targets = [t for t in matched.values() if t is not None]
    doubled = sorted({t for t in targets if targets.count(t) > 1})
    missing = [f.name for f in fields if f.name not in targets]
    retyped = _retyped(matched, column_types, by_name)
    if not (extra or missing or doubled or retyped):
        return matched
    if not targets:
        raise Invalid(
            f"none of the file's columns match the fields of {resource} — is this the file for another resource? "
            f"expected columns: {', '.join(by_name)}; the file has: {', '.join(columns)}",
            missing=missing,
            extra=extra,
        )
    renamed = _likely_renames(columns, extra, missing, fields)
    parts = []
    if missing:
        parts.append(f"missing field(s): {', '.join(missing)}")
    if extra:
        parts.append(f"extra column(s): {', '.join(extra)}")
    if doubled:
        parts.append(f"field(s) given by more than one column: {', '.join(doubled)}")
    if renamed:
        parts.append("perhaps renamed: " + ", ".join(f"{c} → {f}" for c, f in renamed.items()))
    if retyped:
        parts.append(
            "wrong type in the file: " + ", ".join(f"{c} is {t}, {f} needs {n}" for c, (f, t, n) in retyped.items())
        )
    raise Invalid(
        f"the file's columns do not match the fields of {resource}: {'; '.join(parts)}. Fix the header, or give a "
        'mapping such as {"file column": "field"} (null drops a column)',
        rule="schema_drift",
        missing=missing,
        extra=extra,
        doubled=doubled,
        renamed=renamed,
        retyped={c: {"field": f, "file_type": t, "field_type": n} for c, (f, t, n) in retyped.items()},
    )


def _lookup(fields: list[FieldSpec]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for field in fields:  # titles first, so that a field's own name wins where they collide
        for label in (field.title_en, field.title_zh):
            lookup.setdefault(label.strip().lower(), field.name)
    for field in fields:
        lookup[field.name] = field.name
    return lookup


def _retyped(
    matched: dict[str, str | None], column_types: dict[str, str], by_name: dict[str, FieldSpec]
) -> dict[str, tuple[str, str, str]]:
    wrong: dict[str, tuple[str, str, str]] = {}
    for column, target in matched.items():
        if target is None:
            continue
        file_type = column_types.get(column, "VARCHAR").upper()
        field_type = by_name[target].type
        if not file_type.startswith(COMPATIBLE[field_type]):
            wrong[column] = (target, file_type, field_type.value)
    return wrong


def _likely_renames(
    columns: list[str], extra: list[str], missing: list[str], fields: list[FieldSpec]
) -> dict[str, str]:
    """An extra column standing where a missing field stands in the catalog's order is probably that field."""
    positions = {f.name: i for i, f in enumerate(fields)}
    guesses: dict[str, str] = {}
    for column in extra:
        index = columns.index(column)
        for name in missing:
            if positions[name] == index and name not in guesses.values():
                guesses[column] = name
    return guesses
