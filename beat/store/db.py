"""Engines and schema migrations for beat's store (PostgreSQL or SQLite)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Not the default `alembic_version`: Dagster's own Postgres storage keeps its alembic version
# there, and the two may share a database.
VERSION_TABLE = "beat_alembic_version"
# Any constant works; it only has to be the same for every process migrating this database.
_MIGRATION_LOCK_KEY = 7_046_252_191_384_117_001
SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str | URL, **engine_kwargs: Any) -> Engine:
    """An engine configured for the queue's needs; `engine_kwargs` override the defaults.

    A bare `postgresql://` URL is pointed at psycopg 3, the driver the project standardises on.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(parsed, engine_kwargs)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    options: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_size": 10,
        "max_overflow": 20,
        "pool_recycle": 1800,
    }
    options.update(engine_kwargs)
    return create_engine(parsed, **options)


def _make_sqlite_engine(url: URL, engine_kwargs: dict[str, Any]) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    options.update(engine_kwargs)
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _configure_connection(dbapi_conn: sqlite3.Connection, _: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module; `_begin_immediate` emits BEGIN.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if not in_memory:
            # WAL lets readers run while a claim writes; NORMAL is durable across app crashes
            # in WAL mode and avoids an fsync per commit.
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Connection) -> None:
        # A deferred transaction that reads, then writes must upgrade its lock; if another
        # writer got there first SQLite fails at once with SQLITE_BUSY, ignoring busy_timeout.
        # Taking the write lock up front makes writers queue on busy_timeout instead, and it is
        # what serialises claims across processes.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic settings built in code, so no alembic.ini is needed anywhere."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_table", VERSION_TABLE)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(target: Engine | str | URL, revision: str = "head") -> None:
    """Migrate to `revision`. Idempotent, and safe when several processes start at once."""
    _run_migration(target, lambda config: command.upgrade(config, revision))


def downgrade(target: Engine | str | URL, revision: str = "base") -> None:
    _run_migration(target, lambda config: command.downgrade(config, revision))


def current_revision(target: Engine | str | URL) -> str | None:
    engine, owned = _as_engine(target)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return context.get_current_revision()
    finally:
        if owned:
            engine.dispose()


def _run_migration(target: Engine | str | URL, run: Any) -> None:
    engine, owned = _as_engine(target)
    try:
        # One transaction around the whole migration: Postgres and SQLite both have
        # transactional DDL, so a failed migration leaves the schema untouched.
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Held until commit; a second process waits, then finds the schema at head.
                # (On SQLite, BEGIN IMMEDIATE already serialises migrations.)
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            run(alembic_config(conn))
    finally:
        if owned:
            engine.dispose()


def _as_engine(target: Engine | str | URL) -> tuple[Engine, bool]:
    if isinstance(target, Engine):
        return target, False
    return make_engine(target), True
