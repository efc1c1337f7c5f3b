from __future__ import annotations

import json
import pickle
import random

from hypothesis import given
from hypothesis import strategies as st

from providers.credentials import (
    Credential,
    CredentialSource,
    Outcome,
    StaticCredentials,
    backoff_seconds,
)

SECRET = "EAAGsuper-secret-token-value"


def _graph(i: int, handle: str | None = None) -> Credential:
    return Credential(
        id=f"g{i}",
        provider="graphapi",
        secret={"token": f"{SECRET}{i}", "user_id": "1784"},
        handle=handle,
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _pool(creds: list[Credential], clock: FakeClock, **options: object) -> StaticCredentials:
    return StaticCredentials({"graphapi": creds}, clock=clock, rng=random.Random(3), **options)  # type: ignore[arg-type]


def test_credential_never_shows_secret() -> None:
    cred = _graph(1)
    for text in (repr(cred), str(cred), f"{cred}", repr([cred]), repr({"c": cred})):
        assert SECRET not in text
    assert "g1" in repr(cred)
    assert cred.secret_values() == [f"{SECRET}1"]
    again = pickle.loads(pickle.dumps(cred))
    assert again == cred and again.secret == cred.secret


def test_credential_identity_and_fingerprint() -> None:
    a = _graph(1)
    b = Credential(id="g1", provider="graphapi", secret={"token": "other"})
    assert a == b and hash(a) == hash(b)
    assert a != _graph(2)
    assert a.fingerprint == _graph(1).fingerprint
    assert a.fingerprint != _graph(2).fingerprint
    assert SECRET not in a.fingerprint


def test_static_credentials_is_a_credential_source() -> None:
    assert isinstance(StaticCredentials({}), CredentialSource)


async def test_pick_is_random_among_eligible() -> None:
    creds = [_graph(i) for i in range(3)]
    source = StaticCredentials({"graphapi": creds}, rng=random.Random(1))
    picked = {(await source.pick("graphapi")).id for _ in range(60)}  # type: ignore[union-attr]
    assert picked == {"g0", "g1", "g2"}
    assert await source.pick("arraybobo") is None


async def test_handle_picks_only_that_handles_credentials() -> None:
    clock = FakeClock()
    shared, shop_a, shop_b = _graph(0), _graph(1, "shop-a"), _graph(2, "shop-b")
    source = _pool([shared, shop_a, shop_b], clock)
    assert {await source.pick("graphapi", handle="shop-a") for _ in range(20)} == {shop_a}
    assert await source.pick("graphapi", handle="shop-c") is None
    # Without a handle the handle-less credential is preferred...
    assert {await source.pick("graphapi") for _ in range(20)} == {shared}
    # ...and the others are the fallback when it cannot be used.
    await source.report(shared, Outcome.rate_limited(60))
    assert {await source.pick("graphapi") for _ in range(40)} == {shop_a, shop_b}
    # A handle never falls back to another handle's credential.
    await source.report(shop_a, Outcome.dead("190"))
    assert await source.pick("graphapi", handle="shop-a") is None


async def test_rate_limited_cools_for_the_ttl_then_probes() -> None:
    clock = FakeClock()
    cred = _graph(0)
    source = _pool([cred], clock)
    await source.report(cred, Outcome.rate_limited(30.0))
    assert await source.pick("graphapi") is None
    assert source.cooling_until(cred) == 1030.0
    clock.now += 29.9
    assert await source.pick("graphapi") is None
    clock.now += 0.2
    assert await source.pick("graphapi") == cred  # the probe
    assert source.cooling_until(cred) is None
    assert await source.pick("graphapi") is None  # one probe at a time
    await source.report(cred, Outcome.ok())
    assert source.trips(cred) == 0
    assert [await source.pick("graphapi") for _ in range(3)] == [cred] * 3


async def test_rate_limited_without_ttl_backs_off_growing() -> None:
    clock = FakeClock()
    cred = _graph(0)
    source = _pool([cred], clock, base_backoff=30.0, max_backoff=1800.0)
    coolings = []
    for _ in range(9):
        picked = await source.pick("graphapi")  # healthy, then always the probe
        assert picked == cred
        await source.report(cred, Outcome.rate_limited())
        until = source.cooling_until(cred)
        assert until is not None
        coolings.append(until - clock.now)
        clock.now = until
    steps = [30.0 * 2**i for i in range(6)] + [1800.0] * 3
    for cooling, step in zip(coolings, steps, strict=True):
        assert 0.8 * step <= cooling <= step
    assert source.trips(cred) == 9


async def test_default_cool_seconds_still_sets_the_first_step() -> None:
    clock = FakeClock()
    cred = _graph(0)
    source = _pool([cred], clock, default_cool_seconds=5)
    await source.report(cred, Outcome.rate_limited())
    until = source.cooling_until(cred)
    assert until is not None and 1004.0 <= until <= 1005.0


async def test_calls_in_flight_when_the_limit_hit_count_one_trip() -> None:
    clock = FakeClock()
    cred = _graph(0)
    source = _pool([cred], clock)
    for _ in range(5):
        await source.report(cred, Outcome.rate_limited())
    assert source.trips(cred) == 1
    # A later, longer TTL from the provider still extends the cooling.
    await source.report(cred, Outcome.rate_limited(600))
    assert source.cooling_until(cred) == 1600.0 and source.trips(cred) == 1
    # An ok from a call that left before the limit does not heal it.
    await source.report(cred, Outcome.ok())
    assert source.cooling_until(cred) == 1600.0 and source.trips(cred) == 1


async def test_failed_probe_cools_longer_and_a_lapsed_probe_can_be_retried() -> None:
    clock = FakeClock()
    cred = _graph(0)
    source = _pool([cred], clock, probe_timeout=60.0)
    await source.report(cred, Outcome.rate_limited())
    first = source.cooling_until(cred)
    assert first is not None
    clock.now = first
    assert await source.pick("graphapi") == cred
    await source.report(cred, Outcome.rate_limited())
    second = source.cooling_until(cred)
    assert second is not None and second - clock.now >= 0.8 * 60
    assert source.trips(cred) == 2
    clock.now = second
    assert await source.pick("graphapi") == cred  # probe, never reported
    clock.now += 59
    assert await source.pick("graphapi") is None
    clock.now += 2
    assert await source.pick("graphapi") == cred  # the lease lapsed: another probe


async def test_dead_is_dropped_until_revived() -> None:
    clock = FakeClock()
    a, b = _graph(0), _graph(1)
    source = _pool([a, b], clock)
    await source.report(a, Outcome.dead("190"))
    clock.now += 10**6
    picks = [await source.pick("graphapi") for _ in range(20)]
    assert all(p == b for p in picks)
    assert source.is_dead(a)
    await source.report(b, Outcome.ok())
    assert source.eligible("graphapi") == [b]
    source.revive(a)
    assert not source.is_dead(a)
    assert source.eligible("graphapi") == [a, b]


async def test_snapshot_shows_health_and_budget_without_secrets() -> None:
    clock = FakeClock()
    creds = [_graph(i) for i in range(4)]
    source = _pool(creds, clock)
    await source.report(creds[0], Outcome.ok(remaining=42))
    await source.report(creds[1], Outcome.rate_limited(100, reason=f"429 for token={SECRET}1"))
    await source.report(creds[2], Outcome.dead(f"expired token {SECRET}2"))
    await source.report(creds[3], Outcome.rate_limited(10))
    clock.now += 11
    states = {s.id: s for s in source.snapshot()}
    assert {i: s.state for i, s in states.items()} == {
        "g0": "ok",
        "g1": "cooling",
        "g2": "dead",
        "g3": "probing",
    }
    assert states["g0"].remaining == 42 and states["g0"].last_used_at is not None
    assert states["g1"].cooling_until is not None and states["g1"].trips == 1
    assert states["g2"].last_reason is not None and "expired" in states["g2"].last_reason
    assert states["g0"].fingerprint == creds[0].fingerprint
    blob = (
        repr(source) + repr(source.snapshot()) + json.dumps([s.to_dict() for s in states.values()])
    )
    assert SECRET not in blob


def test_from_secrets() -> None:
    source = StaticCredentials.from_secrets(
        {"arraybobo": [{"x-rapidapi-key": "k1"}, {"x-rapidapi-key": "k2"}]}
    )
    eligible = source.eligible("arraybobo")
    assert [c.id for c in eligible] == ["arraybobo-0", "arraybobo-1"]
    assert eligible[1].secret["x-rapidapi-key"] == "k2"
    assert "k2" not in repr(source)


def test_outcome_constructors() -> None:
    assert Outcome.ok().kind == "ok"
    assert Outcome.ok().remaining is None
    assert Outcome.ok(remaining=7).remaining == 7
    assert Outcome.rate_limited(3).ttl == 3
    assert Outcome.rate_limited(3, "429").reason == "429"
    assert Outcome.dead("x").kind == "dead"


@given(trips=st.integers(min_value=1, max_value=10_000), seed=st.integers(0, 2**32))
def test_backoff_grows_within_bounds(trips: int, seed: int) -> None:
    rng = random.Random(seed)
    step = min(1800.0, 30.0 * 2 ** min(trips - 1, 32))
    cooling = backoff_seconds(trips, rng, 30.0, 1800.0)
    assert 0.8 * step <= cooling <= step <= 1800.0
