"""Alembic migrations for beat's store; run them with `beat.store.db.upgrade`."""
