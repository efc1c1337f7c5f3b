"""GPT attributes (gpt_attribute).

Revision ID: 0011_gpt
Revises: 0010_instagram_insights
Create Date: 2026-12-06

Written by hand and frozen: it must not import beat.store.models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0011_gpt"
down_revision: str | None = "0010_instagram_insights"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_json = sa.JSON().with_variant(JSONB(), "postgresql")
_now = sa.text("CURRENT_TIMESTAMP")


def _when(name: str, nullable: bool = True, now: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=nullable, server_default=_now if now else None
    )


def upgrade() -> None:
    op.create_table(
        "gpt_attribute",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("handle", sa.String(), nullable=False),
        sa.Column("flow", sa.String(), nullable=False),
        sa.Column("prompt", sa.String(), nullable=False),
        sa.Column("prompt_version", sa.String(), nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("attributes", _json),
        sa.Column("deployment", sa.String()),
        sa.Column("model", sa.String()),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Numeric(20, 10)),
        sa.Column("request_id", _id),
        _when("answered_at", nullable=False),
        _when("created_at", nullable=False, now=True),
        _when("updated_at", nullable=False, now=True),
        sa.PrimaryKeyConstraint("id", name="pk_gpt_attribute"),
        sa.UniqueConstraint(
            "platform",
            "handle",
            "prompt",
            "prompt_version",
            "input_hash",
            name="uq_gpt_attribute_platform",
        ),
    )
    op.create_index(
        "ix_gpt_attribute_prompt_version", "gpt_attribute", ["prompt", "prompt_version"]
    )
    op.create_index("ix_gpt_attribute_answered_at", "gpt_attribute", ["answered_at"])


def downgrade() -> None:
    op.drop_table("gpt_attribute")
