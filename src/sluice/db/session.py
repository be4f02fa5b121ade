"""What a use case may need besides its session: the clock and the settings, carried in ``Session.info``.

The Platform's sessionmaker puts them there, so use cases keep the plain ``(session, actor, …)`` signature
and tests swap the clock by building the Platform with another one.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from sluice.clock import Clock
    from sluice.settings import Settings
    from sluice.signing import Signer


def now(session: Session) -> datetime:
    return cast("Clock", session.info["clock"]).now()


def settings_of(session: Session) -> Settings:
    return cast("Settings", session.info["settings"])


def signer_of(session: Session) -> Signer:
    return cast("Signer", session.info["signer"])
