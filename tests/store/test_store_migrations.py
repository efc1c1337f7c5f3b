"""Migrations and engines: upgrade from empty, idempotence, downgrade, parity with the models."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Engine, inspect, text

from beat.store.db import (
    VERSION_TABLE,
    alembic_config,
    current_revision,
    downgrade,
    json_loads,
    make_engine,
    upgrade,
)
from beat.store.models import metadata

from .conftest import PgServer

# Every table the models declare; the parity test below keeps migrations and models equal.
TABLES = set(metadata.tables)
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]
)
def empty_engine(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Engine]:
    """A database with nothing in it yet."""
    url: str | URL
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/fresh/beat.db"
    else:
        url = request.getfixturevalue("pg_server").create_database()
    engine = make_engine(url)
    yield engine
    engine.dispose()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_upgrade_from_empty_creates_the_schema(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert table_names(empty_engine) == TABLES | {VERSION_TABLE}
    assert current_revision(empty_engine) == HEAD


def test_upgrade_twice_is_a_no_op(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO credential (idempotency_key, source, credentials) "
                "VALUES ('k', 'graphapi', '{}')"
            )
        )
    upgrade(empty_engine)
    assert current_revision(empty_engine) == HEAD
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM credential")).scalar_one() == 1


def test_downgrade_removes_everything(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    downgrade(empty_engine)
    assert table_names(empty_engine) <= {VERSION_TABLE}
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)  # and back up again
    assert table_names(empty_engine) == TABLES | {VERSION_TABLE}


def test_migrations_match_the_models(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        assert compare_metadata(context, metadata) == []


def test_upgrade_accepts_a_url(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/by-url/beat.db"
    upgrade(url)
    assert current_revision(url) == HEAD


def test_upgrade_leaves_application_logging_alone(empty_engine: Engine) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    app_logger = logging.getLogger("beat.some.module")
    app_logger.disabled = False
    upgrade(empty_engine)
    assert root.handlers == handlers and root.level == level
    assert not app_logger.disabled


@pytest.mark.postgres
def test_concurrent_upgrades_on_postgres_are_safe(pg_server: PgServer) -> None:
    url = pg_server.create_database()
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def migrate() -> None:
        try:
            start.wait()
            upgrade(url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert current_revision(url) == HEAD


# -- SQLite engine settings -------------------------------------------------------------------


def test_sqlite_engine_settings(sqlite_engine: Engine, sqlite_url: str) -> None:
    with sqlite_engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys")
        }
    assert pragma == {"journal_mode": "wal", "busy_timeout": 30_000, "foreign_keys": 1}


def test_sqlite_transactions_take_the_write_lock_at_begin(
    sqlite_engine: Engine, tmp_path: object
) -> None:
    path = sqlite_engine.url.database
    assert path is not None
    with sqlite_engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # even a read begins with BEGIN IMMEDIATE
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_bare_postgres_url_uses_psycopg3() -> None:
    engine = make_engine("postgresql://user@localhost/db")
    assert engine.dialect.driver == "psycopg"
    assert engine.dialect._json_deserializer is json_loads  # type: ignore[attr-defined]
    engine.dispose()


@pytest.mark.parametrize(
    "text",
    ['{"handle": "nasa", "n": [1, 2.5, null, true]}', '"é ✓"', " [1] ", "[1]\n", "0", "{}"],
)
def test_postgres_json_loader_matches_json_loads(text: str) -> None:
    assert json_loads(text.encode()) == json.loads(text) == json_loads(text)


@pytest.mark.parametrize("text", ["", "[1] x", "{", "nan-ish"])
def test_postgres_json_loader_rejects_what_json_loads_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        json_loads(text.encode())
