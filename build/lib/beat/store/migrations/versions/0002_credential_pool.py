"""Credential pool state: rate-limit trips, probe lease, death reason, remaining budget.

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-01

The cooling deadline reuses `disabled_till` (already honoured by every loader). Written by hand
and frozen: it must not import beat.store.models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_COLUMNS = (
    "trips",
    "probe_until",
    "dead_reason",
    "last_reason",
    "remaining",
    "remaining_at",
    "last_used_at",
)


def upgrade() -> None:
    # Adding columns needs no table rebuild on SQLite either: batch mode only rebuilds when
    # SQLite's ALTER TABLE cannot do the change.
    with op.batch_alter_table("credential") as batch:
        batch.add_column(
            sa.Column("trips", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(sa.Column("probe_until", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("dead_reason", sa.Text()))
        batch.add_column(sa.Column("last_reason", sa.Text()))
        batch.add_column(sa.Column("remaining", sa.Integer()))
        batch.add_column(sa.Column("remaining_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("credential") as batch:
        for name in reversed(NEW_COLUMNS):
            batch.drop_column(name)
