"""What the catalog stores beside a revision so that reading never parses JSON: the card and the words.

Used by the catalog use cases whenever the visible revision changes, and by bulk loaders (benchmarks).
"""

from __future__ import annotations

from sluice.catalog import search
from sluice.catalog.schemas import ResourceDescription
from sluice.catalog.vocab import RevisionStatus
from sluice.identity.models import Organisation


def card_values(description: ResourceDescription, status: RevisionStatus) -> dict[str, object]:
    """The ``resources`` columns that show a revision in lists, facets and filters."""
    return {
        "title_zh": description.title_zh,
        "title_en": description.title_en,
        "category": description.category.value,
        "sharing_type": description.sharing_type.value,
        "open_type": description.open_type.value,
        "grade": description.grade.value,
        "status": status.value,
    }


def search_words(code: str, organisation: Organisation, description: ResourceDescription) -> dict[str, str]:
    """The ``resource_search`` columns: segmented words, by weight (title > tags > body)."""
    return {
        "title": search.document_tokens(description.title_zh, description.title_en, code),
        "tags": search.document_tokens(*description.tags),
        "body": search.document_tokens(
            description.abstract_zh,
            description.abstract_en,
            organisation.name_zh,
            organisation.name_en,
            *(f"{f.title_zh} {f.title_en}" for f in description.fields),
        ),
    }
