"""Checks of a grant's terms that the sharing workflow and the gateway share: a row filter must be a plain
condition over the resource's own fields, held to rule 1's allow-lists; a mask must suit its field's type; and
the masks a sensitive field gets unless the grant names it in clear."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlglot import exp, parse_one

from sluice.catalog.schemas import FieldSpec
from sluice.catalog.vocab import FieldType, Sensitivity
from sluice.errors import Invalid, SluiceError
from sluice.gateway.masks import MaskKind
from sluice.gateway.policy import DIALECT, check_query
from sluice.gateway.schemas import MaskSpec

DATE_MASKS = {MaskKind.MASK_DATE_SHOW_YEAR, MaskKind.DATE_YEAR, MaskKind.DATE_MONTH}
NUMBER_MASKS = {MaskKind.NUMBER_RANGE}
TEXT_ONLY_MASKS = {MaskKind.ID_REGION_BIRTH_YEAR, MaskKind.NAME_SURNAME, MaskKind.PHONE_3_4}

# What a sensitive field is masked with by default, by its data element, else by its type.
ELEMENT_MASKS = {"resident_id": MaskKind.ID_REGION_BIRTH_YEAR, "mobile_number": MaskKind.PHONE_3_4}
TYPE_MASKS = {
    FieldType.DATE: MaskKind.MASK_DATE_SHOW_YEAR,
    FieldType.TIMESTAMP: MaskKind.MASK_DATE_SHOW_YEAR,
    FieldType.STRING: MaskKind.MASK,
}


def check_row_filter(text: str, fields: Iterable[str]) -> exp.Expr:
    """The parsed condition, or a refusal naming what is wrong with it."""
    try:
        condition = parse_one(text, dialect=DIALECT)
    except Exception as exc:  # sqlglot's parse and token errors
        raise Invalid(f"the row filter cannot be parsed: {str(exc).splitlines()[0]}", field="row_filter") from None
    if isinstance(condition, exp.Query) or not isinstance(condition, exp.Condition):
        raise Invalid("the row filter must be a condition, e.g. division_code LIKE '110105%'", field="row_filter")
    probe = exp.select("1").from_("x.y").where(condition)
    try:
        checked = check_query(probe.sql(dialect=DIALECT), lambda code: code == "x.y")
    except SluiceError as exc:
        raise Invalid(f"the row filter is not allowed: {exc.message}", field="row_filter") from None
    names = {c.name for c in checked.tree.find_all(exp.Column)}
    unknown = sorted(names - set(fields))
    if unknown:
        raise Invalid(f"the row filter names unknown field(s) {', '.join(unknown)}", field="row_filter")
    if len(list(checked.tree.find_all(exp.Select))) != 1:
        raise Invalid("the row filter must be a plain condition (no subqueries)", field="row_filter")
    return condition


def check_masks(fields: Mapping[str, FieldSpec], masks: Mapping[str, MaskSpec]) -> None:
    """Every mask is on a known field and suits its type."""
    unknown = sorted(name for name in masks if name not in fields)
    if unknown:
        raise Invalid(f"masks name unknown field(s) {', '.join(unknown)}", field="masks")
    for name, spec in masks.items():
        kind = fields[name].type
        if spec.kind in DATE_MASKS and kind not in (FieldType.DATE, FieldType.TIMESTAMP):
            raise Invalid(f"{spec.kind.value} masks dates; {name} is {kind.value}", field="masks")
        if spec.kind in NUMBER_MASKS and kind not in (FieldType.INTEGER, FieldType.DECIMAL):
            raise Invalid(f"{spec.kind.value} masks numbers; {name} is {kind.value}", field="masks")
        if spec.kind in TEXT_ONLY_MASKS and kind is not FieldType.STRING:
            raise Invalid(f"{spec.kind.value} masks text; {name} is {kind.value}", field="masks")


def default_mask(field: FieldSpec) -> MaskSpec:
    kind = ELEMENT_MASKS.get(field.data_element or "") or TYPE_MASKS.get(field.type, MaskKind.MASK_NULL)
    return MaskSpec(kind=kind)


def default_masks(
    fields: Iterable[FieldSpec], granted: Iterable[str], in_clear: Iterable[str] = ()
) -> dict[str, MaskSpec]:
    """Sensitive personal fields are masked unless the grant names them in clear (DOMAIN: grades)."""
    wanted, clear = set(granted), set(in_clear)
    return {
        f.name: default_mask(f)
        for f in fields
        if f.name in wanted and f.name not in clear and f.sensitivity is Sensitivity.SENSITIVE
    }
