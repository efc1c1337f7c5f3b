"""Engines and schema migrations for beat's store (PostgreSQL or SQLite)."""

from __future__ import annotations

import json
import select
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL, Connection, Engine, Table, create_engine, event, exc, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
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
    On Postgres the pool does not pre-ping; a checkout probe without a round trip replaces it
    (`_probe_on_checkout`), TCP keepalives are on, and JSON is decoded by `json_loads`.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(parsed, engine_kwargs)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    options: dict[str, Any] = {
        # No pre-ping: it costs a round trip (and server work) per checkout, two per claim plus
        # completion. `_probe_on_checkout` below catches dead pooled connections without one.
        "pool_pre_ping": False,
        "pool_size": 10,
        "max_overflow": 20,
        "pool_recycle": 1800,
    }
    options.update(engine_kwargs)
    if parsed.get_dialect().driver == "psycopg":
        options.setdefault("json_deserializer", json_loads)
        connect_args = dict(options.get("connect_args") or {})
        for name, value in PG_KEEPALIVES.items():
            if name not in connect_args and name not in parsed.query:
                connect_args[name] = value
        options["connect_args"] = connect_args
    engine = create_engine(parsed, **options)
    if engine.dialect.driver == "psycopg":
        event.listen(engine, "checkout", _probe_on_checkout(engine))
    return engine


_JSON = json.JSONDecoder()


def dialect_insert(conn: Connection, table: Table) -> Any:
    """INSERT with the dialect's ON CONFLICT support (PostgreSQL and SQLite share its shape)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def json_loads(data: bytes | str) -> Any:
    """`json.loads`, ~2.5x cheaper on the small documents PostgreSQL sends (a request's params).

    psycopg hands the loader bytes, which `json.loads` first sniffs for UTF-16/32; Postgres
    sends the connection's encoding, UTF-8 here. Whatever `raw_decode` does not take whole
    (leading or trailing whitespace, invalid text) goes to `json.loads`, so the result, or the
    error, is the same.
    """
    text = data.decode() if isinstance(data, bytes | bytearray | memoryview) else data
    try:
        value, end = _JSON.raw_decode(text)
    except ValueError:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


# libpq TCP keepalives: a peer that vanished without closing the connection (host lost, a
# firewall dropping idle state) is noticed within ~1 min, and the socket then polls readable,
# which `_probe_on_checkout` sees. Ignored on Unix-socket connections.
PG_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def _probe_on_checkout(engine: Engine) -> Any:
    """A pool `checkout` listener that replaces pre-ping without its round trip.

    A pooled connection sits idle, with no query in flight, so the server has no reason to
    send anything. When the server restarts or terminates the backend, it sends a FATAL error
    and closes the socket; a lost peer shows up as a socket error once keepalives give up.
    Either way the socket polls readable, which costs one non-blocking `poll()` to see. Only
    then (rare: a notice or NOTIFY can also arrive) is the connection really pinged. A dead
    connection raises `InvalidatePoolError`, which is what SQLAlchemy's own pre-ping does: the
    pool discards every connection older than now and this checkout gets a fresh one.

    What it cannot see, a statement in flight when the server goes away, pre-ping could not
    either: the connection is invalidated on that error (the other pooled ones are probed
    when next checked out), and `RequestQueue` retries its operation once, which is safe for
    all of them (see `RequestQueue._retrying`).
    """
    dialect = engine.dialect

    def probe(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if _idle_connection_is_alive(dbapi_conn, dialect.do_ping):
            return
        raise exc.InvalidatePoolError("the pooled connection was closed by the server")

    return probe


def _idle_connection_is_alive(dbapi_conn: Any, ping: Any) -> bool:
    if dbapi_conn.closed or dbapi_conn.broken:
        return False
    try:
        readable = _readable(dbapi_conn.fileno())
    except (OSError, ValueError, dbapi_conn.Error):
        return False
    if not readable:
        return True
    try:
        ping(dbapi_conn)  # consumes a harmless notice; fails on a shutdown message or EOF
    except Exception:
        return False
    return True


def _readable(fd: int) -> bool:
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))  # POLLERR and POLLHUP are always reported too
    readable, _, errored = select.select([fd], [], [fd], 0)
    return bool(readable or errored)


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


def observation_stamps(provider: str, observed: datetime, now: datetime) -> dict[str, Any]:
    """The stamp columns of a latest-state row (see `models.observation_columns`)."""
    return {
        "provider": provider,
        "observed_at": observed,
        "refreshed_at": observed,
        "created_at": now,
        "updated_at": now,
    }
