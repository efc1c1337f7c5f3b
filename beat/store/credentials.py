"""Provider credentials from the `credential` table (secrets stay in the database)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, or_, select

from beat.store.db import dialect_insert
from beat.store.models import credential
from providers.credentials import Credential, StaticCredentials

# The sandbox accepts exactly these; `beat demo` and the tests seed them.
SANDBOX_CREDENTIALS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("graphapi", {"token": "sandbox-graph-token", "user_id": "17841400000000000"}),
    (
        "arraybobo",
        {
            "x-rapidapi-key": "sandbox-rapidapi-key",
            "x-rapidapi-host": "instagram-scraper-2022.p.rapidapi.com",
        },
    ),
)


def load_credentials(engine: Engine) -> StaticCredentials:
    """Enabled credentials whose cool-down (disabled_till) has passed, by provider."""
    now = datetime.now(UTC)
    query = select(
        credential.c.id, credential.c.source, credential.c.credentials, credential.c.handle
    )
    query = query.where(credential.c.enabled.is_(True))
    query = query.where(or_(credential.c.disabled_till.is_(None), credential.c.disabled_till < now))
    pools: dict[str, list[Credential]] = defaultdict(list)
    with engine.connect() as conn:
        for row in conn.execute(query):
            pools[row.source].append(
                Credential(str(row.id), row.source, dict(row.credentials), row.handle)
            )
    return StaticCredentials(dict(pools))


def save_credentials(engine: Engine, items: Iterable[tuple[str, dict[str, Any]]]) -> int:
    """Insert credentials once each (keyed by provider and secret fingerprint)."""
    now = datetime.now(UTC)
    rows = [
        {
            "idempotency_key": f"{source}:"
            + hashlib.sha256(json.dumps(secret, sort_keys=True).encode()).hexdigest()[:32],
            "source": source,
            "credentials": secret,
            "enabled": True,
            "created_at": now,
            "updated_at": now,
        }
        for source, secret in items
    ]
    with engine.begin() as conn:
        stmt = dialect_insert(conn, credential).on_conflict_do_nothing(
            index_elements=["idempotency_key"]
        )
        return conn.execute(stmt, rows).rowcount or 0
