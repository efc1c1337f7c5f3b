"""Operator switches every process reads from the app database.

``claiming``: whether the batch sensors claim new work. ``PUT /heartbeat?beat=false`` turns it
off (a drain before a deploy): runs already going finish their batches, nothing new is claimed,
and ``GET /heartbeat`` answers 410 once no request is in flight. ``beat=true`` resumes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from beat.store.db import dialect_insert
from beat.store.models import beat_control

__all__ = ["is_claiming", "set_claiming"]

CLAIMING = "claiming"


def is_claiming(engine: Engine) -> bool:
    """True unless an operator drained beat (no row means never drained)."""
    query = select(beat_control.c.value).where(beat_control.c.key == CLAIMING)
    with engine.connect() as conn:
        value = conn.execute(query).scalar_one_or_none()
    return value != "false"


def set_claiming(engine: Engine, claiming: bool) -> None:
    value = "true" if claiming else "false"
    with engine.begin() as conn:
        stmt = dialect_insert(conn, beat_control).values(
            key=CLAIMING, value=value, updated_at=datetime.now(UTC)
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["key"], set_={"value": value, "updated_at": datetime.now(UTC)}
            )
        )
