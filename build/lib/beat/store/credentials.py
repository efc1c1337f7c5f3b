"""Provider credentials from the `credential` table (secrets stay in the database).

`DbCredentialPool` is the credential pool every crawler process shares through the database
(SQLite or PostgreSQL). The rules (pick among eligible, cooling, half-open probe, death) are
those of `providers.credentials`; this module keeps them in the `credential` table:

* `disabled_till` is the cooling deadline (the column existed; the old loader honours it too),
  `trips` counts consecutive rate limits, `probe_until` is the lease of the one process that
  probes a half-open credential, `enabled=false` with `dead_reason` is a dead credential.
  An operator revives one with `revive_credential` (or by saving a new secret: a new row).
* Times are the application's UTC clock (`clock`, epoch seconds), never the database's: the
  in-memory snapshot is judged against the same clock between reads, and tests can drive it.
  Processes sharing a database need clocks in step (NTP): a skew below `probe_timeout` cannot
  let two processes probe at once, it only moves when a probe happens.
* The crawler calls `pick` and `report` for every HTTP call, so both work on an in-memory
  snapshot of the table, read again at most every `refresh_seconds`. `report(ok)` writes
  nothing unless it ends a probe; the budget left and the last use are written with the next
  read, once per credential per interval. A rate limit or a death is written at once, and the
  local snapshot changes before the write starts.
* Credentials may also come from the environment: `BEAT_CREDENTIALS` (JSON) or a file named by
  `BEAT_CREDENTIALS_FILE`, stored in the table when a pool starts (once each, keyed by the
  secret) so they share the same health tracking. Nothing here logs or shows a secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    Row,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from beat.store.db import dialect_insert
from beat.store.models import UTCDateTime, credential
from providers.credentials import (
    BASE_BACKOFF_SECONDS,
    MAX_BACKOFF_SECONDS,
    PROBE_TIMEOUT_SECONDS,
    Credential,
    CredentialSlot,
    CredentialState,
    Outcome,
    StaticCredentials,
    backoff_seconds,
    clean_reason,
    pick_candidates,
    soonest_usable,
)
from providers.errors import scrub_text

__all__ = [
    "ENV_CREDENTIALS",
    "ENV_CREDENTIALS_FILE",
    "CredentialConfigError",
    "CredentialStoreError",
    "DbCredentialPool",
    "credential_states",
    "env_credentials",
    "load_credentials",
    "revive_credential",
    "save_credentials",
    "store_env_credentials",
]

logger = logging.getLogger(__name__)

ENV_CREDENTIALS = "BEAT_CREDENTIALS"
ENV_CREDENTIALS_FILE = "BEAT_CREDENTIALS_FILE"

# The sandbox accepts exactly these; `beat demo` and the tests seed them.
#: (provider, secret) or (provider, secret, handle)
CredentialItem = tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], str | None]


class CredentialConfigError(ValueError):
    """Credentials given in the environment are unusable. The message never holds a secret."""


class CredentialStoreError(RuntimeError):
    """Storing credentials failed. The message never holds a secret."""


# -- Loading and saving ----------------------------------------------------------------------


def load_credentials(engine: Engine) -> StaticCredentials:
    """Enabled credentials whose cool-down (disabled_till) has passed, by provider.

    A one-off, in-process snapshot; long-running crawlers should share a `DbCredentialPool`.
    """
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


def save_credentials(engine: Engine, items: Iterable[CredentialItem]) -> int:
    """Insert credentials once each (keyed by provider and secret); returns how many were new.

    An item is `(provider, secret)` or `(provider, secret, handle)`. Saving a secret that is
    already stored changes nothing (a dead one stays dead: see `revive_credential`).
    """
    now = datetime.now(UTC)
    rows = [_credential_row(item, now) for item in items]
    if not rows:
        return 0
    try:
        with engine.begin() as conn:
            stmt = dialect_insert(conn, credential).on_conflict_do_nothing(
                index_elements=["idempotency_key"]
            )
            # Counted from RETURNING: an executemany's rowcount is -1 on psycopg.
            return len(conn.execute(stmt.returning(credential.c.id), rows).all())
    except DBAPIError as exc:
        # str(exc) carries the statement's parameters, the secrets among them: keep only the
        # driver's message, scrubbed, and raise outside this block so no traceback chains it.
        secrets = [v for row in rows for v in _secret_values(row)]
        failure = f"{type(exc.orig).__name__}: {scrub_text(str(exc.orig), secrets)[:300]}"
    raise CredentialStoreError(f"storing {len(rows)} credential(s) failed: {failure}")


def revive_credential(engine: Engine, credential_id: int | str) -> bool:
    """An operator fixed a dead (or cooling) credential: healthy again at once, in every pool
    after its next refresh. False when there is no such credential."""
    stmt = (
        update(credential)
        .where(credential.c.id == int(credential_id))
        .values(
            enabled=True,
            dead_reason=None,
            trips=0,
            disabled_till=None,
            probe_until=None,
            data_access_expired=False,
        )
    )
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def credential_states(engine: Engine, *, now: float | None = None) -> list[CredentialState]:
    """Every credential's health and budget, read straight from the table (no pool needed):
    what the Dagster UI shows. Fingerprints only, never secrets."""
    moment = time.time() if now is None else now
    with engine.connect() as conn:
        rows = conn.execute(select(credential).order_by(credential.c.id)).all()
    return [_slot_from_row(row, _credential_from_row(row)).state(moment, _wall) for row in rows]


def _credential_row(item: CredentialItem, now: datetime) -> dict[str, Any]:
    source, secret = item[0], item[1]
    handle = item[2] if len(item) > 2 else None  # type: ignore[misc]
    digest = hashlib.sha256(json.dumps(secret, sort_keys=True).encode()).hexdigest()[:32]
    return {
        "idempotency_key": f"{source}:{digest}",
        "source": source,
        "credentials": secret,
        "handle": handle,
        "enabled": True,
        "created_at": now,
        "updated_at": now,
    }


def _secret_values(row: Mapping[str, Any]) -> list[str]:
    secret = {k: str(v) for k, v in row["credentials"].items()}
    return Credential("", row["source"], secret).secret_values()


# -- Environment credentials -----------------------------------------------------------------

# Provider names and secret field names are shown in errors; anything else is not, so a name
# must look like one (a misplaced token would not).
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_SHAPE = '{"provider": [{secret fields}, {"secret": {secret fields}, "handle": "..."}, ...]}'


def env_credentials(
    environ: Mapping[str, str] | None = None,
) -> list[tuple[str, dict[str, str], str | None]]:
    """Credentials from `BEAT_CREDENTIALS` (JSON) and the file named by `BEAT_CREDENTIALS_FILE`.

    The JSON maps a provider to a list of secrets; a secret is an object of strings (a header
    dict, a Graph token and user id), or `{"secret": {...}, "handle": "..."}` for a credential
    that belongs to one handle. Raises `CredentialConfigError`, never quoting a value.
    """
    environ = os.environ if environ is None else environ
    found: list[tuple[str, dict[str, str], str | None]] = []
    inline = environ.get(ENV_CREDENTIALS, "").strip()
    if inline:
        found += _parse_credentials(inline, ENV_CREDENTIALS)
    path = environ.get(ENV_CREDENTIALS_FILE, "").strip()
    if path:
        found += _parse_credentials(_read_file(path), f"{ENV_CREDENTIALS_FILE} ({path})")
    return found


def store_env_credentials(engine: Engine, environ: Mapping[str, str] | None = None) -> int:
    """Store the environment's credentials in the table (idempotent); how many were new."""
    items = env_credentials(environ)
    added = save_credentials(engine, items) if items else 0
    if items:
        logger.info("credentials from the environment: %d given, %d new", len(items), added)
    return added


def _read_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        # A UnicodeDecodeError holds the raw bytes: only its type name leaves this block.
        reason = getattr(exc, "strerror", None) or type(exc).__name__
    raise CredentialConfigError(f"{ENV_CREDENTIALS_FILE}: cannot read {path!r}: {reason}")


def _parse_credentials(text: str, origin: str) -> list[tuple[str, dict[str, str], str | None]]:
    document, problem = _load_json(text)
    if problem is not None:
        raise CredentialConfigError(
            f"{origin} is not valid JSON ({problem}); the value is not shown: it holds secrets"
        )
    if not isinstance(document, dict):
        raise CredentialConfigError(f"{origin} must be a JSON object: {_SHAPE}")
    found: list[tuple[str, dict[str, str], str | None]] = []
    for number, (provider, entries) in enumerate(document.items(), start=1):
        if not _NAME.match(provider):
            raise CredentialConfigError(f"{origin}: provider #{number} has an invalid name")
        if not isinstance(entries, list):
            raise CredentialConfigError(f"{origin}: {provider} must map to a list: {_SHAPE}")
        for index, entry in enumerate(entries):
            secret, handle = _parse_entry(entry, f"{origin}: {provider}[{index}]")
            found.append((provider, secret, handle))
    return found


def _load_json(text: str) -> tuple[Any, str | None]:
    """The document, or where it is broken. The decode error itself is not kept: its `doc`
    is the whole text, and an exception chained to ours would carry it into tracebacks."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"{exc.msg} at line {exc.lineno} column {exc.colno}"


def _parse_entry(entry: Any, where: str) -> tuple[dict[str, str], str | None]:
    handle: Any = None
    if isinstance(entry, dict) and isinstance(entry.get("secret"), dict):
        if not set(entry) <= {"secret", "handle"}:
            raise CredentialConfigError(f"{where}: only 'secret' and 'handle' may sit together")
        entry, handle = entry["secret"], entry.get("handle")
        if handle is not None and not isinstance(handle, str):
            raise CredentialConfigError(f"{where}: handle must be a string")
    if not isinstance(entry, dict) or not entry:
        raise CredentialConfigError(f"{where} must be a non-empty object of strings")
    secret: dict[str, str] = {}
    for number, (key, value) in enumerate(entry.items(), start=1):
        if isinstance(value, bool) or not isinstance(value, str | int):
            shown = repr(key) if _NAME.match(key) else f"#{number}"
            raise CredentialConfigError(f"{where}: field {shown} must be a string")
        secret[key] = str(value)  # a Graph user id may come as a number
    return secret, handle


# -- The shared pool -------------------------------------------------------------------------

_FLUSH_USAGE = (
    update(credential)
    .where(credential.c.id == bindparam("cid"))
    .values(
        remaining=func.coalesce(bindparam("rem", type_=Integer()), credential.c.remaining),
        remaining_at=func.coalesce(
            bindparam("rem_at", type_=UTCDateTime()), credential.c.remaining_at
        ),
        last_used_at=bindparam("used_at", type_=UTCDateTime()),
    )
)


class DbCredentialPool:
    """A `CredentialSource` whose state lives in the `credential` table (module docstring).

    The constructor stores the environment's credentials and reads the table once, blocking;
    afterwards `pick` and `report` touch the database only as described above, from a worker
    thread so the event loop never waits on it.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        refresh_seconds: float = 2.0,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        base_backoff: float = BASE_BACKOFF_SECONDS,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        probe_timeout: float = PROBE_TIMEOUT_SECONDS,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._engine = engine
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._rng = rng or random.Random()
        self._base_backoff = base_backoff
        self._max_backoff = max(max_backoff, base_backoff)
        self._probe_timeout = probe_timeout
        self._slots: dict[str, list[CredentialSlot]] = {}
        self._by_id: dict[str, CredentialSlot] = {}
        self._used: set[str] = set()  # ids whose last use / budget is not written yet
        self._my_probes: set[str] = set()  # ids this pool holds the probe lease of
        # A local change newer than a read in flight must survive that read: id -> version.
        self._changed: dict[str, int] = {}
        self._version = 0
        self._loaded_at = 0.0
        self._refreshing = False
        self.env_added = store_env_credentials(engine, environ)
        self.refresh()

    # -- CredentialSource ---------------------------------------------------------------------

    def cooling_seconds(self, provider: str, *, handle: str | None = None) -> float | None:
        """How soon one of ``provider``'s credentials is usable again (None: all dead)."""
        return soonest_usable(self._slots.get(provider, ()), handle, self._clock())

    async def pick(self, provider: str, *, handle: str | None = None) -> Credential | None:
        if not self._refreshing and self._clock() - self._loaded_at >= self._refresh_seconds:
            await self._refresh_async()
        now = self._clock()
        healthy, probes = pick_candidates(self._slots.get(provider, ()), handle, now)
        if probes:
            while probes:
                slot = probes.pop(self._rng.randrange(len(probes)))
                if await self._lease_probe(slot, now):
                    return slot.cred
            healthy = [s for s in healthy if s.status(self._clock()) == "ok"]
        if not healthy:
            return None
        slot = self._rng.choice(healthy)
        slot.last_used_at = now
        self._used.add(slot.cred.id)
        self._my_probes.discard(slot.cred.id)  # a probe of ours that lapsed and healed elsewhere
        return slot.cred

    async def report(self, cred: Credential, outcome: Outcome) -> None:
        cid = cred.id
        if not cid.isdigit():
            return  # not a row of this table
        now = self._clock()
        slot = self._by_id.get(cid)
        was_probe = cid in self._my_probes
        self._my_probes.discard(cid)
        if outcome.kind == "released":
            if was_probe:
                await self._probe_released(cid, slot)
        elif outcome.kind == "ok":
            if slot is not None:
                slot.note_ok(now, outcome.remaining)
                self._used.add(cid)
            if was_probe:
                await self._healed(cid, slot, now, outcome.remaining)
            # Otherwise nothing to write: a healthy credential stays healthy, and an ok on a
            # tripped one comes from a call that left before the limit hit.
        elif outcome.kind == "rate_limited":
            await self._rate_limited(cred, slot, now, outcome.ttl, outcome.reason, was_probe)
        else:
            await self._dead(cred, slot, outcome.reason)

    # -- Operators ----------------------------------------------------------------------------

    def snapshot(self) -> list[CredentialState]:
        """Every credential's health and budget as this pool sees it (read again when stale)."""
        if not self._refreshing and self._clock() - self._loaded_at >= self._refresh_seconds:
            self.refresh()
        now = self._clock()
        slots = sorted(self._by_id.values(), key=lambda s: (s.cred.provider, int(s.cred.id)))
        return [s.state(now, _wall) for s in slots]

    def refresh(self) -> None:
        """Write pending usage and read the table again, now (blocking)."""
        started, used, payload = self._begin_refresh()
        try:
            rows = self._sync(payload)
        except BaseException:
            self._used |= used
            raise
        finally:
            self._refreshing = False
        self._install(rows, started)

    # -- Snapshot -----------------------------------------------------------------------------

    async def _refresh_async(self) -> None:
        started, used, payload = self._begin_refresh()
        try:
            rows = await asyncio.to_thread(self._sync, payload)
        except SQLAlchemyError as exc:
            self._used |= used
            self._loaded_at = self._clock()  # keep the last snapshot; try again next interval
            logger.warning("credential pool: reading the table failed (%s)", type(exc).__name__)
            return
        finally:
            self._refreshing = False
        self._install(rows, started)

    def _begin_refresh(self) -> tuple[int, set[str], list[dict[str, Any]]]:
        self._refreshing = True
        used, self._used = self._used, set()
        payload = []
        for cid in used:
            slot = self._by_id.get(cid)
            if slot is not None and slot.last_used_at:
                payload.append(
                    {
                        "cid": int(cid),
                        "rem": slot.remaining,
                        "rem_at": _wall(slot.remaining_at),
                        "used_at": _wall(slot.last_used_at),
                    }
                )
        return self._version, used, payload

    def _sync(self, usage: list[dict[str, Any]]) -> Sequence[Row[Any]]:
        with self._engine.begin() as conn:
            if usage:
                conn.execute(_FLUSH_USAGE, usage)
            return conn.execute(select(credential).order_by(credential.c.id)).all()

    def _install(self, rows: Sequence[Row[Any]], started: int) -> None:
        by_id: dict[str, CredentialSlot] = {}
        by_provider: dict[str, list[CredentialSlot]] = defaultdict(list)
        for row in rows:
            cid = str(row.id)
            old = self._by_id.get(cid)
            if old is not None and self._changed.get(cid, -1) > started:
                slot = old  # changed here after the read began: the read may predate it
            else:
                slot = _slot_from_row(row, _credential_from_row(row, old))
                if old is not None and cid in self._used:
                    _carry_usage(old, slot)  # used during the read, not written yet
            by_id[cid] = slot
            by_provider[slot.cred.provider].append(slot)
        self._by_id, self._slots = by_id, dict(by_provider)
        self._changed = {k: v for k, v in self._changed.items() if v > started}
        self._loaded_at = self._clock()

    def _touch(self, cid: str) -> None:
        self._version += 1
        self._changed[cid] = self._version

    # -- State changes ------------------------------------------------------------------------

    async def _lease_probe(self, slot: CredentialSlot, now: float) -> bool:
        cid = slot.cred.id
        # Until the database answers (and, if we lose, until the next read shows the winner's
        # lease) no other caller in this process tries.
        slot.probe_until = now + self._probe_timeout
        self._touch(cid)
        try:
            won = await asyncio.to_thread(self._claim_probe, int(cid), now)
        except SQLAlchemyError as exc:
            logger.warning("credential pool: probe lease failed (%s)", type(exc).__name__)
            return False
        self._touch(cid)
        if won:
            self._my_probes.add(cid)
            slot.last_used_at = now
        return won

    def _claim_probe(self, cid: int, now: float) -> bool:
        at = _wall(now)
        c = credential.c
        stmt = (
            update(credential)
            .where(
                c.id == cid,
                c.enabled.is_(True),
                c.trips > 0,
                or_(c.disabled_till.is_(None), c.disabled_till <= at),
                or_(c.probe_until.is_(None), c.probe_until < at),
            )
            .values(probe_until=_wall(now + self._probe_timeout), last_used_at=at)
        )
        with self._engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    async def _probe_released(self, cid: str, slot: CredentialSlot | None) -> None:
        """The probe taught nothing (never sent, timed out, provider error): let the next
        caller, in any process, probe at once instead of waiting for the lease to lapse."""
        if slot is not None:
            slot.probe_until = 0.0
        await self._write(cid, {"probe_until": None}, "probe release")

    async def _healed(
        self, cid: str, slot: CredentialSlot | None, now: float, remaining: int | None
    ) -> None:
        if slot is not None:
            slot.heal()
        self._touch(cid)
        values: dict[str, Any] = {
            "trips": 0,
            "disabled_till": None,
            "probe_until": None,
            "last_used_at": _wall(now),
        }
        if remaining is not None:
            values.update(remaining=remaining, remaining_at=_wall(now))
        await self._write(cid, values, "probe result")

    async def _rate_limited(
        self,
        cred: Credential,
        slot: CredentialSlot | None,
        now: float,
        ttl: float | None,
        reason: str,
        was_probe: bool,
    ) -> None:
        why = clean_reason(reason, cred) or "rate limited"
        if slot is not None:
            slot.last_reason = why
            slot.cool(now, ttl, probe=was_probe, backoff=self._backoff)
        self._touch(cred.id)
        try:
            stored = await asyncio.to_thread(self._store_rate_limit, cred, now, ttl, why, was_probe)
        except SQLAlchemyError as exc:
            logger.warning("credential pool: storing a rate limit failed (%s)", type(exc).__name__)
            return
        current = self._by_id.get(cred.id)
        if stored is not None and current is not None:
            # The database's count wins: other processes may have tripped it too.
            current.trips, current.cooling_until = stored
            current.last_reason = why
        self._touch(cred.id)

    def _store_rate_limit(
        self, cred: Credential, now: float, ttl: float | None, why: str, was_probe: bool
    ) -> tuple[int, float] | None:
        c = credential.c
        with self._engine.begin() as conn:
            row = conn.execute(
                select(c.trips, c.disabled_till).where(c.id == int(cred.id)).with_for_update()
            ).one_or_none()
            if row is None:
                return None
            slot = CredentialSlot(cred, trips=row.trips, cooling_until=_epoch(row.disabled_till))
            slot.cool(now, ttl, probe=was_probe, backoff=self._backoff)
            values: dict[str, Any] = {
                "trips": slot.trips,
                "disabled_till": _wall(slot.cooling_until),
                "last_reason": why,
                "last_used_at": _wall(now),
            }
            if was_probe:
                values["probe_until"] = None
            conn.execute(update(credential).where(c.id == int(cred.id)).values(**values))
            return slot.trips, slot.cooling_until

    async def _dead(self, cred: Credential, slot: CredentialSlot | None, reason: str) -> None:
        why = clean_reason(reason, cred) or "rejected by the provider"
        if slot is not None:
            slot.dead_reason = slot.last_reason = why
        values = {
            "enabled": False,
            "dead_reason": why,
            "last_reason": why,
            "trips": 0,
            "disabled_till": None,
            "probe_until": None,
        }
        self._touch(cred.id)
        await self._write(cred.id, values, "death")

    async def _write(self, cid: str, values: dict[str, Any], what: str) -> None:
        stmt = update(credential).where(credential.c.id == int(cid)).values(**values)
        try:
            await asyncio.to_thread(self._execute, stmt)
        except SQLAlchemyError as exc:
            logger.warning("credential pool: storing a %s failed (%s)", what, type(exc).__name__)
        self._touch(cid)

    def _execute(self, stmt: Any) -> None:
        with self._engine.begin() as conn:
            conn.execute(stmt)

    def _backoff(self, trips: int) -> float:
        return backoff_seconds(trips, self._rng, self._base_backoff, self._max_backoff)

    def __repr__(self) -> str:
        now = self._clock()
        counts: dict[str, int] = defaultdict(int)
        for slot in self._by_id.values():
            counts[slot.status(now)] += 1
        return f"DbCredentialPool({len(self._by_id)} credentials, {dict(counts)})"


# -- Rows <-> slots ----------------------------------------------------------------------------


def _credential_from_row(row: Row[Any], old: CredentialSlot | None = None) -> Credential:
    secret = dict(row.credentials)
    if old is not None and old.cred.secret == secret and old.cred.handle == row.handle:
        return old.cred  # the same object, so callers holding it stay comparable
    return Credential(str(row.id), row.source, secret, row.handle)


def _slot_from_row(row: Row[Any], cred: Credential) -> CredentialSlot:
    dead: str | None = None
    if not row.enabled:
        dead = row.dead_reason or "disabled by an operator"
    elif row.data_access_expired:
        dead = "data access expired"
    return CredentialSlot(
        cred,
        trips=row.trips,
        cooling_until=_epoch(row.disabled_till),
        probe_until=_epoch(row.probe_until),
        dead_reason=dead,
        last_reason=row.last_reason,
        remaining=row.remaining,
        remaining_at=_epoch(row.remaining_at) or None,
        last_used_at=_epoch(row.last_used_at) or None,
    )


def _carry_usage(old: CredentialSlot, new: CredentialSlot) -> None:
    new.last_used_at = old.last_used_at
    if old.remaining_at is not None:
        new.remaining, new.remaining_at = old.remaining, old.remaining_at


def _wall(moment: float | None) -> datetime | None:
    return datetime.fromtimestamp(moment, UTC) if moment else None


def _epoch(value: datetime | None) -> float:
    return value.timestamp() if value is not None else 0.0
