"""Every value of the catalog's vocabularies has its own Chinese and English label."""

from __future__ import annotations

from enum import StrEnum

import pytest

from sluice.catalog.vocab import Category, Grade, OpenType, Sensitivity, SharingType, UpdateCycle, label_of

VOCABULARIES: tuple[type[StrEnum], ...] = (Category, SharingType, OpenType, Grade, UpdateCycle, Sensitivity)


@pytest.mark.parametrize("vocabulary", VOCABULARIES)
def test_every_value_has_a_label(vocabulary: type[StrEnum]) -> None:
    for member in vocabulary:
        zh, en = label_of(member)
        assert zh
        assert en


def test_values_shared_by_two_vocabularies_keep_their_own_labels() -> None:
    # "conditional" is a value of both SharingType and OpenType; as strings the two members are equal.
    assert str(SharingType.CONDITIONAL) == str(OpenType.CONDITIONAL)
    assert label_of(SharingType.CONDITIONAL) == ("有条件共享", "shared on application")
    assert label_of(OpenType.CONDITIONAL) == ("有条件开放", "open on application")
