"""DbCredentialPool on real SQLite and PostgreSQL: the pool every crawler process shares."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, update

from beat.store.credentials import (
    ENV_CREDENTIALS,
    ENV_CREDENTIALS_FILE,
    CredentialConfigError,
    CredentialStoreError,
    DbCredentialPool,
    credential_states,
    env_credentials,
    load_credentials,
    revive_credential,
    save_credentials,
)
from beat.store.db import make_engine
from beat.store.models import credential
from providers.credentials import Credential, CredentialSource, Outcome

SECRET = "EAAGpool-secret-token-value"
T0 = 1_800_000_000.0


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def add(engine: Engine, n: int, *, provider: str = "graphapi", handle: str | None = None) -> str:
    """Store credential number `n` and return its id."""
    secret = {"token": f"{SECRET}{n}", "user_id": "17841400000000001"}
    assert save_credentials(engine, [(provider, secret, handle)]) == 1
    with engine.connect() as conn:
        return str(conn.execute(select(func.max(credential.c.id))).scalar_one())


def row(engine: Engine, cid: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(credential).where(credential.c.id == int(cid))).one()


def set_row(engine: Engine, cid: str, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(credential).where(credential.c.id == int(cid)).values(**values))


def at(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def pool(engine: Engine, clock: FakeClock, **options: Any) -> DbCredentialPool:
    options.setdefault("environ", {})
    options.setdefault("rng", random.Random(5))
    return DbCredentialPool(engine, clock=clock, **options)


def half_open(engine: Engine, cid: str, clock: FakeClock, trips: int = 1) -> None:
    """As if the credential tripped and its cooling just ended."""
    set_row(engine, cid, trips=trips, disabled_till=at(clock.now - 1))


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def writes(seen: list[str]) -> list[str]:
    return [s for s in seen if s.lstrip().split()[0].upper() in {"UPDATE", "INSERT", "DELETE"}]


# -- Picking -----------------------------------------------------------------------------------


async def test_pick_among_eligible_only(engine: Engine, clock: FakeClock) -> None:
    ok1, ok2, cooling, dead, expired = (add(engine, i) for i in range(5))
    add(engine, 9, provider="arraybobo")
    set_row(engine, cooling, trips=1, disabled_till=at(clock.now + 60))
    set_row(engine, dead, enabled=False, dead_reason="190: token expired")
    set_row(engine, expired, data_access_expired=True)
    source = pool(engine, clock)
    assert isinstance(source, CredentialSource)
    picked = {(await source.pick("graphapi")).id for _ in range(60)}  # type: ignore[union-attr]
    assert picked == {ok1, ok2}
    assert await source.pick("youtube") is None


async def test_handle_filter_and_preference(engine: Engine, clock: FakeClock) -> None:
    shared = add(engine, 0)
    shop_a = add(engine, 1, handle="shop-a")
    add(engine, 2, handle="shop-b")
    source = pool(engine, clock)
    assert {(await source.pick("graphapi", handle="shop-a")).id for _ in range(20)} == {shop_a}  # type: ignore[union-attr]
    assert await source.pick("graphapi", handle="nobody") is None
    assert {(await source.pick("graphapi")).id for _ in range(20)} == {shared}  # type: ignore[union-attr]
    cred = await source.pick("graphapi")
    assert cred is not None
    await source.report(cred, Outcome.rate_limited(60))
    fallback = {(await source.pick("graphapi")).handle for _ in range(40)}  # type: ignore[union-attr]
    assert fallback == {"shop-a", "shop-b"}


# -- Cooling -----------------------------------------------------------------------------------


async def test_rate_limit_cools_for_the_ttl_in_every_pool(engine: Engine, clock: FakeClock) -> None:
    cid = add(engine, 0)
    first, second = pool(engine, clock), pool(engine, clock)
    cred = await first.pick("graphapi")
    assert cred is not None and await second.pick("graphapi") == cred
    with statements(engine) as seen:
        await first.report(cred, Outcome.rate_limited(120, reason="429 Too Many Requests"))
    assert writes(seen), "a rate limit is written at once"
    assert await first.pick("graphapi") is None  # locally at once, before any refresh
    stored = row(engine, cid)
    assert stored.trips == 1 and stored.disabled_till == at(T0 + 120)
    assert stored.last_reason == "429 Too Many Requests"
    clock.now += 2  # the other pool sees it at its next refresh
    assert await second.pick("graphapi") is None
    clock.now = T0 + 119
    assert await first.pick("graphapi") is None
    clock.now = T0 + 121
    assert await first.pick("graphapi") == cred  # now as the probe


async def test_no_ttl_means_a_growing_backoff(engine: Engine, clock: FakeClock) -> None:
    cid = add(engine, 0)
    source = pool(engine, clock, base_backoff=30.0, max_backoff=1800.0)
    for trip in range(1, 9):
        cred = await source.pick("graphapi")  # healthy, then the probe each time
        assert cred is not None, trip
        await source.report(cred, Outcome.rate_limited())
        stored = row(engine, cid)
        step = min(1800.0, 30.0 * 2 ** (trip - 1))
        cooling = stored.disabled_till.timestamp() - clock.now
        assert stored.trips == trip
        assert 0.8 * step - 0.01 <= cooling <= step + 0.01
        clock.now = stored.disabled_till.timestamp() + 0.5


async def test_calls_in_flight_when_the_limit_hit_count_one_trip(
    engine: Engine, clock: FakeClock
) -> None:
    cid = add(engine, 0)
    pools = [pool(engine, clock) for _ in range(3)]
    creds = [await p.pick("graphapi") for p in pools]
    for p, cred in zip(pools, creds, strict=True):
        assert cred is not None
        await p.report(cred, Outcome.rate_limited())
        await p.report(cred, Outcome.ok())  # a slower call from before the limit
    stored = row(engine, cid)
    assert stored.trips == 1 and stored.disabled_till.timestamp() > clock.now


# -- Half-open probes ----------------------------------------------------------------------------


async def test_exactly_one_probe_across_pools(engine: Engine, clock: FakeClock) -> None:
    cid = add(engine, 0)
    half_open(engine, cid, clock)
    pools = [pool(engine, clock) for _ in range(8)]
    picks = await asyncio.gather(*(p.pick("graphapi") for p in pools))
    winners = [(p, c) for p, c in zip(pools, picks, strict=True) if c is not None]
    assert len(winners) == 1
    assert row(engine, cid).probe_until == at(T0 + 60)
    winner, cred = winners[0]
    # Still one probe: nobody else gets it while the lease runs, not even the winner again.
    assert [await p.pick("graphapi") for p in pools] == [None] * 8
    await winner.report(cred, Outcome.ok(remaining=99))
    stored = row(engine, cid)
    assert (stored.trips, stored.disabled_till, stored.probe_until) == (0, None, None)
    assert stored.remaining == 99
    assert await winner.pick("graphapi") == cred  # healthy again at once here...
    clock.now += 2
    assert all([await p.pick("graphapi") == cred for p in pools])  # ...and everywhere next


async def test_failed_probe_cools_longer(engine: Engine, clock: FakeClock) -> None:
    cid = add(engine, 0)
    half_open(engine, cid, clock, trips=3)
    source = pool(engine, clock)
    cred = await source.pick("graphapi")
    assert cred is not None
    await source.report(cred, Outcome.rate_limited())
    stored = row(engine, cid)
    assert stored.trips == 4 and stored.probe_until is None
    assert stored.disabled_till.timestamp() - clock.now >= 0.8 * 240
    assert await source.pick("graphapi") is None


async def test_a_lapsed_probe_lease_allows_another_probe(engine: Engine, clock: FakeClock) -> None:
    cid = add(engine, 0)
    half_open(engine, cid, clock)
    first, second = pool(engine, clock, probe_timeout=60), pool(engine, clock, probe_timeout=60)
    assert await first.pick("graphapi") is not None  # and never reports
    clock.now += 59
    assert await second.pick("graphapi") is None
    clock.now += 2
    assert await second.pick("graphapi") is not None
    assert row(engine, cid).probe_until == at(clock.now + 60)


def _probe_in_child(url: str, barrier: Any, results: Any) -> None:
    engine = make_engine(url)
    try:
        source = DbCredentialPool(engine, environ={})
        barrier.wait(timeout=60)
        cred = asyncio.run(source.pick("graphapi"))
        results.put(cred.id if cred is not None else None)
    finally:
        engine.dispose()


def test_exactly_one_probe_across_processes(engine: Engine) -> None:
    cid = add(engine, 0)
    half_open(engine, cid, FakeClock(datetime.now(UTC).timestamp()))
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(4), context.Queue()
    children = [
        context.Process(target=_probe_in_child, args=(url, barrier, results)) for _ in range(4)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
    assert [child.exitcode for child in children] == [0] * 4
    picks = sorted((results.get(timeout=5) for _ in children), key=str)
    assert picks == [cid, None, None, None]


# -- Death ---------------------------------------------------------------------------------------


async def test_dead_is_never_picked_until_revived(engine: Engine, clock: FakeClock) -> None:
    cid = add(engine, 0)
    source = pool(engine, clock)
    other = pool(engine, clock)
    cred = await source.pick("graphapi")
    assert cred is not None
    await source.report(cred, Outcome.dead(f"190 invalid token {SECRET}0"))
    stored = row(engine, cid)
    assert stored.enabled is False
    assert stored.dead_reason is not None and "190" in stored.dead_reason
    assert SECRET not in stored.dead_reason and SECRET not in (stored.last_reason or "")
    clock.now += 10**6
    assert await source.pick("graphapi") is None
    assert await other.pick("graphapi") is None
    assert revive_credential(engine, cid)
    assert not revive_credential(engine, 10**9)
    clock.now += 2
    assert await source.pick("graphapi") == cred
    # A replacement (a new secret, a new row) is picked up too.
    await source.report(cred, Outcome.dead("expired"))
    fresh = add(engine, 1)
    clock.now += 2
    assert {(await source.pick("graphapi")).id for _ in range(10)} == {fresh}  # type: ignore[union-attr]


# -- The hot path --------------------------------------------------------------------------------


async def test_ok_reports_do_not_write_and_usage_is_batched(
    engine: Engine, clock: FakeClock
) -> None:
    ids = [add(engine, i) for i in range(3)]
    source = pool(engine, clock, refresh_seconds=2.0)
    with statements(engine) as seen:
        for n in range(300):
            cred = await source.pick("graphapi")
            assert cred is not None
            await source.report(cred, Outcome.ok(remaining=1000 - n))
    assert seen == []  # not one statement: no reads, no writes
    clock.now += 2.0
    with statements(engine) as seen:
        cred = await source.pick("graphapi")
    assert len(writes(seen)) == 1  # one batched usage write for every credential used
    states = {s.id: s for s in credential_states(engine, now=clock.now)}
    assert {states[i].remaining for i in ids} <= set(range(701, 1001))
    assert min(states[i].remaining for i in ids) == 701  # type: ignore[type-var]
    assert all(states[i].last_used_at is not None for i in ids)


async def test_ok_on_a_tripped_credential_that_was_not_a_probe_does_not_write(
    engine: Engine, clock: FakeClock
) -> None:
    cid = add(engine, 0)
    source = pool(engine, clock)
    cred = await source.pick("graphapi")
    assert cred is not None
    await source.report(cred, Outcome.rate_limited(30))
    with statements(engine) as seen:
        await source.report(cred, Outcome.ok())
    assert writes(seen) == []
    assert row(engine, cid).trips == 1


# -- Environment credentials ---------------------------------------------------------------------


def _env_document() -> dict[str, Any]:
    return {
        "graphapi": [{"token": f"{SECRET}env", "user_id": 17841400000000002}],
        "arraybobo": [{"x-rapidapi-key": "rapid-env-key-123", "x-rapidapi-host": "h.example"}],
    }


async def test_environment_credentials_are_stored_once(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    file = tmp_path / "creds.json"
    file.write_text(
        json.dumps({"shopify": [{"secret": {"access-token": "shpat_abcdef"}, "handle": "shop-a"}]})
    )
    environ = {ENV_CREDENTIALS: json.dumps(_env_document()), ENV_CREDENTIALS_FILE: str(file)}
    first = pool(engine, clock, environ=environ)
    second = pool(engine, clock, environ=environ)
    assert (first.env_added, second.env_added) == (3, 0)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(credential)).scalar_one() == 3
    graph = await second.pick("graphapi")
    assert graph is not None and graph.secret["user_id"] == "17841400000000002"
    shop = await second.pick("shopify", handle="shop-a")
    assert shop is not None and shop.secret == {"access-token": "shpat_abcdef"}
    assert await second.pick("shopify", handle="shop-b") is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"graphapi": [{"token": "' + SECRET + '"', "not valid JSON"),
        ('["' + SECRET + '"]', "must be a JSON object"),
        ('{"graphapi": {"token": "' + SECRET + '"}}', "graphapi must map to a list"),
        ('{"graphapi": ["' + SECRET + '"]}', r"graphapi\[0\] must be a non-empty object"),
        ('{"graphapi": [{"token": ["' + SECRET + '"]}]}', "field 'token' must be a string"),
        ('{"graphapi": [{"' + SECRET + ' x": true}]}', "field #1 must be a string"),
        ('{"' + SECRET + ' ": []}', "provider #1 has an invalid name"),
    ],
)
def test_bad_environment_credentials_fail_without_showing_secrets(
    document: str, message: str
) -> None:
    with pytest.raises(CredentialConfigError, match=message) as info:
        env_credentials({ENV_CREDENTIALS: document})
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_unreadable_credentials_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(CredentialConfigError, match="cannot read"):
        env_credentials({ENV_CREDENTIALS_FILE: str(missing)})
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe" + SECRET.encode())
    with pytest.raises(CredentialConfigError) as info:
        env_credentials({ENV_CREDENTIALS_FILE: str(binary)})
    assert SECRET not in str(info.value) and info.value.__context__ is None


# -- Secrets and operators -----------------------------------------------------------------------


async def test_snapshot_for_operators_never_holds_secrets(engine: Engine, clock: FakeClock) -> None:
    ok, cooling, probing, dead = (add(engine, i) for i in range(4))
    source = pool(engine, clock)
    by_id = {c.id: c for c in [await source.pick("graphapi") for _ in range(40)] if c}
    await source.report(by_id[ok], Outcome.ok(remaining=17))
    await source.report(by_id[cooling], Outcome.rate_limited(300, f"429 key={SECRET}1"))
    await source.report(by_id[probing], Outcome.rate_limited(1))
    await source.report(by_id[dead], Outcome.dead(f"bad token {SECRET}3"))
    clock.now += 2
    states = {s.id: s for s in source.snapshot()}
    assert {i: s.state for i, s in states.items()} == {
        ok: "ok",
        cooling: "cooling",
        probing: "probing",
        dead: "dead",
    }
    assert states[ok].remaining == 17
    assert states[cooling].cooling_until == at(T0 + 300)
    assert states[ok].fingerprint == by_id[ok].fingerprint
    from_table = {s.id: s for s in credential_states(engine, now=clock.now)}
    assert from_table[ok].remaining == 17 and from_table[dead].state == "dead"
    blob = " ".join(
        [repr(source), str(source), repr(source.snapshot()), repr(list(from_table.values()))]
        + [json.dumps(s.to_dict()) for s in states.values()]
        + [repr(c) for c in by_id.values()]
    )
    assert SECRET not in blob


def test_a_failed_save_does_not_show_the_secret(tmp_path: Path) -> None:
    empty = make_engine(f"sqlite:///{tmp_path}/empty.db")  # never migrated: no table
    try:
        with pytest.raises(CredentialStoreError) as info:
            save_credentials(empty, [("graphapi", {"token": SECRET})])
    finally:
        empty.dispose()
    assert SECRET not in str(info.value) and info.value.__context__ is None
    assert "credential" in str(info.value)


def test_load_credentials_still_gives_the_usable_ones(engine: Engine) -> None:
    ok = add(engine, 0)
    shop = add(engine, 1, handle="shop-a")
    cooling = add(engine, 2)
    dead = add(engine, 3)
    set_row(engine, cooling, trips=1, disabled_till=datetime(2999, 1, 1, tzinfo=UTC))
    set_row(engine, dead, enabled=False, dead_reason="gone")
    static = load_credentials(engine)
    assert sorted(c.id for c in static.eligible("graphapi", handle="shop-a")) == [shop]
    assert [c.id for c in static.eligible("graphapi")] == [ok]


async def test_reports_for_unknown_credentials_are_ignored(
    engine: Engine, clock: FakeClock
) -> None:
    add(engine, 0)
    source = pool(engine, clock)
    stranger = Credential("anonymous", "graphapi", {})
    with statements(engine) as seen:
        await source.report(stranger, Outcome.rate_limited(10))
        await source.report(stranger, Outcome.dead("x"))
    assert seen == []
    assert await source.pick("graphapi") is not None
