"""Alembic environment for beat's store.

Deliberately does not call `logging.config.fileConfig`: migrations run inside the application
(see `beat.store.db.upgrade`) and must not replace its logging setup.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from beat.store.db import VERSION_TABLE, make_engine
from beat.store.models import metadata

config = context.config
version_table = config.get_main_option("version_table") or VERSION_TABLE


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        version_table=version_table,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # Called from beat.store.db, inside its transaction and migration lock.
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url, or run migrations via beat.store.db.upgrade")
    engine = make_engine(url)
    try:
        with engine.connect() as own:
            _configure(own)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
