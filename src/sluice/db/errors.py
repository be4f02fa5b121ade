"""Turning the database's refusals into domain errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from sluice.errors import SluiceError


@contextmanager
def refused_as(session: Session, refusal: SluiceError) -> Iterator[None]:
    """Make the block's changes inside a savepoint; if the database refuses them (a concurrent writer won a
    race the use case's own check could not see), raise ``refusal`` and keep the rest of the transaction.

    Build and add new objects inside the block: entering it flushes what is already pending.
    """
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError:
        raise refusal from None


@contextmanager
def unique(session: Session, column: InstrumentedAttribute[str], value: str, refusal: SluiceError) -> Iterator[None]:
    """Make the block's new row, refusing with ``refusal`` if one with ``column == value`` exists: checked
    first (a clear answer at once), and enforced by the unique constraint if a concurrent writer gets there
    in between."""
    if session.scalars(select(column).where(column == value).limit(1)).first() is not None:
        raise refusal
    with refused_as(session, refusal):
        yield
