from __future__ import annotations

import pickle
import random

from providers.credentials import Credential, CredentialSource, Outcome, StaticCredentials

SECRET = "EAAGsuper-secret-token-value"


def _graph(i: int) -> Credential:
    return Credential(
        id=f"g{i}", provider="graphapi", secret={"token": f"{SECRET}{i}", "user_id": "1784"}
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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


async def test_rate_limited_cools_then_returns() -> None:
    clock = FakeClock()
    cred = _graph(0)
    source = StaticCredentials({"graphapi": [cred]}, clock=clock)
    await source.report(cred, Outcome.rate_limited(30.0))
    assert await source.pick("graphapi") is None
    assert source.cooling_until(cred) == 1030.0
    clock.now += 29.9
    assert await source.pick("graphapi") is None
    clock.now += 0.2
    assert await source.pick("graphapi") == cred
    assert source.cooling_until(cred) is None


async def test_rate_limited_without_ttl_uses_default() -> None:
    clock = FakeClock()
    cred = _graph(0)
    source = StaticCredentials({"graphapi": [cred]}, clock=clock, default_cool_seconds=5)
    await source.report(cred, Outcome.rate_limited())
    assert source.cooling_until(cred) == 1005.0


async def test_dead_is_dropped_for_good() -> None:
    clock = FakeClock()
    a, b = _graph(0), _graph(1)
    source = StaticCredentials({"graphapi": [a, b]}, clock=clock)
    await source.report(a, Outcome.dead("190"))
    clock.now += 10**6
    picks = [await source.pick("graphapi") for _ in range(20)]
    assert all(p == b for p in picks)
    assert source.is_dead(a)
    await source.report(b, Outcome.ok())
    assert source.eligible("graphapi") == [b]


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
    assert Outcome.rate_limited(3).ttl == 3
    assert Outcome.dead("x").kind == "dead"
