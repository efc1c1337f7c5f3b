"""``asset_log``: where each entity's media lives in the object store, and what it was.

One row per entity (``entity_id`` is unique): ``asset_url`` is the object-store key (normally
``assets/{entity_type}s/{platform}/{entity_id}.{ext}``, or another entity's key when the
content was identical and so stored once), ``original_url`` the URL it was fetched from and
``content_hash`` the SHA-256 of the bytes.

Lookups by ``original_url``, ``content_hash`` and ``asset_url`` have no index in the initial
schema: each is a table scan, fine for thousands of rows, not for millions (they need one).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update
from sqlalchemy.dialects import postgresql, sqlite

from beat.store.models import asset_log

__all__ = [
    "AssetRecord",
    "find_by_hash",
    "find_by_hashes",
    "find_known",
    "find_referrers",
    "repoint",
    "upsert_assets",
]

_CHUNK = 500
_COLUMNS = (
    "entity_id", "entity_type", "platform", "asset_type", "asset_url", "original_url",
    "content_hash",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class AssetRecord:
    entity_id: str
    entity_type: str | None
    platform: str | None
    asset_type: str | None
    asset_url: str | None
    original_url: str | None
    content_hash: str | None

    @classmethod
    def from_row(cls, row: Row[Any]) -> AssetRecord:
        return cls(*(row._mapping[name] for name in _COLUMNS))

    def as_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _COLUMNS}


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    unique = sorted(set(values))
    for start in range(0, len(unique), _CHUNK):
        yield unique[start : start + _CHUNK]


def _columns() -> list[Any]:
    return [asset_log.c[name] for name in _COLUMNS]


def find_known(
    conn: Connection, *, entity_ids: Iterable[str], urls: Iterable[str]
) -> tuple[dict[str, AssetRecord], dict[str, list[AssetRecord]]]:
    """The rows of these entities (by entity id) and the rows fetched from these URLs (by URL,
    oldest first), in one query per 500 values."""
    by_entity: dict[str, AssetRecord] = {}
    by_url: dict[str, list[AssetRecord]] = {}
    for chunk in _chunks(entity_ids):
        query = select(*_columns()).where(asset_log.c.entity_id.in_(chunk))
        for row in conn.execute(query):
            record = AssetRecord.from_row(row)
            by_entity[record.entity_id] = record
    for chunk in _chunks(urls):
        query = (
            select(*_columns())
            .where(asset_log.c.original_url.in_(chunk), asset_log.c.asset_url.is_not(None))
            .order_by(asset_log.c.id)
        )
        for row in conn.execute(query):
            record = AssetRecord.from_row(row)
            by_url.setdefault(record.original_url or "", []).append(record)
    return by_entity, by_url


def find_by_hash(conn: Connection, content_hash: str) -> AssetRecord | None:
    """The oldest row whose content has this hash (its ``asset_url`` holds those bytes)."""
    query = (
        select(*_columns())
        .where(asset_log.c.content_hash == content_hash, asset_log.c.asset_url.is_not(None))
        .order_by(asset_log.c.id)
        .limit(1)
    )
    row = conn.execute(query).first()
    return AssetRecord.from_row(row) if row is not None else None


def find_by_hashes(conn: Connection, hashes: Iterable[str]) -> dict[str, AssetRecord]:
    """For each hash that is stored, its oldest row (one query per 500 hashes)."""
    found: dict[str, AssetRecord] = {}
    for chunk in _chunks(hashes):
        query = (
            select(*_columns())
            .where(asset_log.c.content_hash.in_(chunk), asset_log.c.asset_url.is_not(None))
            .order_by(asset_log.c.id)
        )
        for row in conn.execute(query):
            record = AssetRecord.from_row(row)
            found.setdefault(record.content_hash or "", record)
    return found


def find_referrers(conn: Connection, asset_url: str, *, besides: str) -> list[AssetRecord]:
    """Rows of entities other than ``besides`` whose media is stored at ``asset_url``."""
    query = (
        select(*_columns())
        .where(asset_log.c.asset_url == asset_url, asset_log.c.entity_id != besides)
        .order_by(asset_log.c.id)
    )
    return [AssetRecord.from_row(row) for row in conn.execute(query)]


def repoint(conn: Connection, entity_ids: Sequence[str], asset_url: str) -> None:
    """Point these entities' rows at another key (holding the same bytes)."""
    if not entity_ids:
        return
    conn.execute(
        update(asset_log)
        .where(asset_log.c.entity_id.in_(list(entity_ids)))
        .values(asset_url=asset_url, updated_at=datetime.now(UTC))
    )


def upsert_assets(conn: Connection, records: Iterable[AssetRecord]) -> int:
    """Insert or update rows on ``entity_id`` (the last record of an entity wins). Returns the
    number of rows written."""
    latest: dict[str, AssetRecord] = {}
    for record in records:
        latest[record.entity_id] = record
    if not latest:
        return 0
    now = datetime.now(UTC)
    # Sorted by key: concurrent batches then lock rows in the same order (no deadlock).
    rows = [
        {**record.as_row(), "created_at": now, "updated_at": now}
        for _, record in sorted(latest.items())
    ]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(asset_log)
    changed = {name: stmt.excluded[name] for name in _COLUMNS if name != "entity_id"}
    changed["updated_at"] = stmt.excluded["updated_at"]
    for start in range(0, len(rows), _CHUNK):
        conn.execute(
            stmt.on_conflict_do_update(index_elements=["entity_id"], set_=changed),
            rows[start : start + _CHUNK],
        )
    return len(rows)
