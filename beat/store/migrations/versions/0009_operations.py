"""Operations: an index over finished requests (retention and queue_health read it) and
autovacuum settings for the hot queue table.

Revision ID: 0009_operations
Revises: 0008_youtube_more
Create Date: 2026-12-06

Written by hand and frozen: it must not import beat.store.models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_operations"
down_revision: str | None = "0008_youtube_more"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TERMINAL = sa.text("status IN ('COMPLETE', 'FAILED', 'EXPIRED')")

# Every request row is updated two or three times (claim, complete, maybe retry), so the
# table makes dead tuples at the rate of the work. Postgres's defaults vacuum a table once
# 20% of it is dead: with 10 million finished rows kept for a week, that is two million dead
# tuples in the claim's indexes before a vacuum. Vacuum after 1% (or 10,000 rows), analyze
# after 2%, and let autovacuum work without sleeping between pages on this table.
HOT_TABLE_SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0.01",
    "autovacuum_vacuum_threshold": "10000",
    "autovacuum_vacuum_insert_scale_factor": "0.05",
    "autovacuum_analyze_scale_factor": "0.02",
    "autovacuum_vacuum_cost_delay": "0",
}


def upgrade() -> None:
    # Retention deletes finished rows oldest first, and queue_health counts the last hour's
    # completions and failures: both walk this index instead of the whole table.
    op.create_index(
        "ix_scrape_request_log_finished",
        "scrape_request_log",
        ["updated_at"],
        postgresql_where=TERMINAL,
        sqlite_where=TERMINAL,
    )
    if op.get_bind().dialect.name == "postgresql":
        settings = ", ".join(f"{key} = {value}" for key, value in HOT_TABLE_SETTINGS.items())
        op.execute(f"ALTER TABLE scrape_request_log SET ({settings})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE scrape_request_log RESET ({', '.join(HOT_TABLE_SETTINGS)})")
    op.drop_index("ix_scrape_request_log_finished", table_name="scrape_request_log")
