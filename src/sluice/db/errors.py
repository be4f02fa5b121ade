"""Turning the database's refusals into domain errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

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
