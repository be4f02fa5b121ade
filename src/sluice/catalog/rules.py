"""Rules a resource description must keep, beyond the shape of its fields. Each refusal names the field
and the rule, and says how to fix it."""

from __future__ import annotations

from collections import Counter

from sluice.catalog.schemas import ResourceDescription
from sluice.catalog.vocab import Grade, OpenType, Sensitivity, SharingType
from sluice.errors import Invalid


def check_description(description: ResourceDescription, known_elements: set[str]) -> None:
    _sharing(description)
    _grade(description)
    _openness(description)
    _fields(description, known_elements)


def _sharing(description: ResourceDescription) -> None:
    if description.sharing_type is SharingType.NOT_SHARED and not (description.legal_basis or "").strip():
        raise Invalid(
            "a resource that is not shared must state its legal basis (the law or regulation that forbids "
            "sharing it); share by default, refuse only with a reason",
            field="legal_basis",
            rule="not_shared_needs_legal_basis",
        )


def _grade(description: ResourceDescription) -> None:
    if description.grade is not Grade.CORE:
        return
    if description.open_type is not OpenType.NOT_OPEN:
        raise Invalid(
            "core data (核心数据) can never be opened to the public: set open_type to not_open",
            field="open_type",
            rule="core_never_open",
        )
    if description.sharing_type is SharingType.UNCONDITIONAL:
        raise Invalid(
            "core data never leaves its department, so it cannot be shared unconditionally: "
            "set sharing_type to conditional or not_shared",
            field="sharing_type",
            rule="core_never_unconditional",
        )


def _openness(description: ResourceDescription) -> None:
    if description.open_type is OpenType.NOT_OPEN:
        return
    if not (description.licence or "").strip():
        raise Invalid(
            "open data needs a licence (e.g. CC-BY-4.0) so the public knows what it may do with it",
            field="licence",
            rule="open_needs_licence",
        )
    if description.open_type is OpenType.OPEN:
        personal = [f.name for f in description.fields if f.sensitivity is not Sensitivity.NONE]
        if personal:
            raise Invalid(
                f"open data must not contain personal information, but {', '.join(personal)} "
                f"{'is' if len(personal) == 1 else 'are'} marked personal; remove or de-identify them, "
                "or make the resource conditionally open",
                field="fields",
                rule="open_without_personal_data",
                fields=personal,
            )


def _fields(description: ResourceDescription, known_elements: set[str]) -> None:
    repeated = sorted(name for name, n in Counter(f.name for f in description.fields).items() if n > 1)
    if repeated:
        raise Invalid(
            f"field names must be unique; repeated: {', '.join(repeated)}", field="fields", rule="unique_names"
        )
    for index, field in enumerate(description.fields):
        if field.primary_key and field.nullable:
            raise Invalid(
                f"field {field.name!r} is part of the primary key, so it cannot be nullable: set nullable to false",
                field=f"fields[{index}].nullable",
                rule="primary_key_not_null",
            )
        if field.data_element is not None and field.data_element not in known_elements:
            raise Invalid(
                f"field {field.name!r} names the data element {field.data_element!r}, which does not exist; "
                "see GET /api/v1/data-elements for the library",
                field=f"fields[{index}].data_element",
                rule="unknown_data_element",
                value=field.data_element,
            )


CLASSIFICATION = ("grade", "sharing_type", "open_type")  # what decides who may see the data: two people change it


def classification_changes(before: ResourceDescription | None, after: ResourceDescription) -> list[str]:
    """Which of grade, sharing type and open type ``after`` changes from the published ``before``."""
    if before is None:
        return []
    return [name for name in CLASSIFICATION if getattr(before, name) != getattr(after, name)]


def needs_two_people(before: ResourceDescription | None, after: ResourceDescription) -> bool:
    """Publishing core data, or changing what decides who may see the data, takes two people."""
    return after.grade is Grade.CORE or bool(classification_changes(before, after))
