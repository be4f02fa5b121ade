"""Keyset pagination with opaque cursors: stable under inserts, O(page) per page."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel

from sluice.errors import Invalid

T = TypeVar("T")


class HasId(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=HasId)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The last id seen, or None for the first page; a cursor not made by us is refused."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        kind, _, value = raw.partition(":")
        if kind != "id":
            raise ValueError(kind)
        last = int(value)
        if not 0 < last < 2**63:
            raise ValueError(value)
        return last
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid(
            "the page cursor is not valid; pass the `next` value of the previous page unchanged",
            field="next",
        ) from None


def check_limit(limit: int, largest: int) -> int:
    if limit < 1 or limit > largest:
        raise Invalid(f"limit must be between 1 and {largest}", field="limit", value=limit)
    return limit


def keyset_page(rows: Sequence[R], limit: int, convert: Callable[[R], T]) -> Page[T]:
    """A page from ``limit + 1`` rows fetched in id order: the extra row only tells that more exist."""
    shown = rows[:limit]
    more = len(rows) > limit
    return Page[T](items=[convert(r) for r in shown], next=encode_cursor(shown[-1].id) if more else None)
