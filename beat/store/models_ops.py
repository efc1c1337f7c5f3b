"""Indexes that operations read: retention and queue_health (migration 0009_operations)."""

from __future__ import annotations

from sqlalchemy import Index, text

from beat.store.models import scrape_request_log

TERMINAL_STATUSES = ("COMPLETE", "FAILED", "EXPIRED")
_terminal = text("status IN ('COMPLETE', 'FAILED', 'EXPIRED')")

# Finished rows by when they finished (every queue statement sets updated_at).
Index(
    "ix_scrape_request_log_finished",
    scrape_request_log.c.updated_at,
    postgresql_where=_terminal,
    sqlite_where=_terminal,
)
