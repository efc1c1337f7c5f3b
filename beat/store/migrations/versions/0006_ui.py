"""Index of settled requests by flow and day, for each partition's day figures.

Revision ID: 0006_ui
Revises: 0005_youtube_shopify
Create Date: 2026-12-06

Written by hand and frozen: it must not import beat.store.models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_ui"
down_revision: str | None = "0005_youtube_shopify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTLED = "status IN ('COMPLETE', 'FAILED')"


def upgrade() -> None:
    op.create_index(
        "ix_scrape_request_log_settled",
        "scrape_request_log",
        ["flow", "updated_at"],
        postgresql_where=sa.text(SETTLED),
        sqlite_where=sa.text(SETTLED),
    )


def downgrade() -> None:
    op.drop_index("ix_scrape_request_log_settled", table_name="scrape_request_log")
