"""Provider specs as data, the stacked list, and the crawler hook."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from providers.crawler import InstagramCrawler
from providers.credentials import Credential, StaticCredentials
from providers.errors import Deferred
from providers.ratelimit import (
    DEFAULT_SPECS,
    Limit,
    LocalRateLimiter,
    RateSpecs,
    handle_key,
    limits_for,
    make_before_request,
    target_handle,
)
from providers.ratelimit.specs import SPECS
from sandbox import SandboxState, start_sandbox


@pytest.mark.parametrize(
    ("provider", "rate", "period"),
    [
        ("youtube138", 850, 60),
        ("arraybobo", 100, 30),
        ("rapidapi-arraybobo", 100, 30),
        ("instagram-scraper-2022", 100, 30),
        ("bestsolutions", 2, 1),
        ("jotucker", 5, 1),  # the original's URL-substring match never applied this one
        ("rapidapi-jotucker", 5, 1),
        ("instagram-scraper2", 5, 1),
        ("rocketapi", 100, 30),
        ("yt-v31", 500, 60),
        ("youtube-v311", 3, 1),
        ("YouTube-V311", 3, 1),
        ("some-new-provider", 5, 1),  # unknown names get the polite default
    ],
)
def test_provider_specs(provider: str, rate: int, period: float) -> None:
    own = DEFAULT_SPECS.provider_limit(provider)
    assert own is not None
    assert (own.rate, own.period_seconds, own.capacity) == (rate, period, 1)
    assert own.key == f"provider:{DEFAULT_SPECS.canonical(provider)}"


@pytest.mark.parametrize("provider", ["graphapi", "ytapitoken", "ytapi", "shopify", "cdn"])
def test_unlimited_providers_still_get_the_stacked_limits(provider: str) -> None:
    assert DEFAULT_SPECS.provider_limit(provider) is None
    assert [lim.key for lim in limits_for(provider, "x")] == [
        "global:day",
        "global:minute",
        "handle:x",
    ]
    assert limits_for(provider, include_global=False) == []


def test_the_stacked_list() -> None:
    lims = limits_for("arraybobo", " @Nike ")
    assert [lim.key for lim in lims] == [
        "provider:arraybobo",
        "global:day",
        "global:minute",
        "handle:nike",
    ]
    day, minute, handle = lims[1:]
    assert (day.rate, day.period_seconds, day.capacity) == (20000, 86400, 1000)
    assert day.sustained_per_period == pytest.approx(19001, rel=1e-6)
    assert (minute.rate, minute.period_seconds, minute.capacity) == (60, 60, 1)
    assert (handle.rate, handle.period_seconds) == (1, 1)
    assert [lim.key for lim in limits_for("arraybobo")] == [
        "provider:arraybobo",
        "global:day",
        "global:minute",
    ]


def test_handle_keys_are_safe() -> None:
    assert handle_key("@Some.One") == "some.one"
    assert handle_key("{evil}").startswith("sha1-")
    assert handle_key("a\nb").startswith("sha1-")
    assert handle_key("x" * 500).startswith("sha1-")
    Limit(f"handle:{handle_key('{evil}')}", 1, 1.0)  # always a valid key


def test_spec_data_is_validated() -> None:
    with pytest.raises(ValueError, match="unknown providers"):
        RateSpecs.from_mapping({"providers": {}, "aliases": {"a": "nope"}})
    with pytest.raises(ValueError, match="burst"):
        RateSpecs.from_mapping({"providers": {"p": {"rate": 2, "period": 1, "burst": 3}}})
    with pytest.raises(ValueError, match="unknown"):
        RateSpecs.from_mapping({"provider": {}})
    assert RateSpecs.from_mapping(SPECS) == DEFAULT_SPECS


@pytest.mark.parametrize(
    ("rate", "period", "burst", "interval_us"),
    [
        (850, 60, None, math.ceil(60e6 / 850)),
        (100, 30, None, 300_000),
        (2, 1, None, 500_000),
        (5, 1, 5, 1_000_000),
        (20000, 86400, 1000, math.ceil(86400e6 / 19001)),
    ],
)
def test_interval_is_period_over_rate_minus_burst_plus_one(
    rate: int, period: float, burst: int | None, interval_us: int
) -> None:
    assert Limit("k", rate, period, burst).interval_us == interval_us


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": 0},
        {"period_seconds": 0},
        {"period_seconds": float("nan")},
        {"burst": 0},
        {"burst": 11},
        {"key": ""},
        {"key": "a{b}"},
    ],
)
def test_invalid_limits(kwargs: dict[str, Any]) -> None:
    base: dict[str, Any] = {"key": "k", "rate": 10, "period_seconds": 1.0}
    with pytest.raises(ValueError):
        Limit(**{**base, **kwargs})


# --------------------------------------------------------------------------- the hook


TIGHT = RateSpecs.from_mapping(
    {
        "providers": {"graphapi": {"rate": 1, "period": 30}, "arraybobo": None},
        "per_handle": {"rate": 1, "period": 30},
    }
)


async def test_hook_reads_the_target_handle_from_context(tmp_path: Path) -> None:
    limiter = LocalRateLimiter(tmp_path / "rl.sqlite3", specs=TIGHT)
    hook = make_before_request(limiter, timeout=0.2)
    cred = Credential(id="c1", provider="arraybobo", secret={"x-rapidapi-key": "k" * 20})
    try:
        with target_handle("alice"):
            await hook("arraybobo", cred)
            await hook("arraybobo", cred)  # the same fetch's next page: provider limit only
        with target_handle("alice"), pytest.raises(Deferred) as info:
            await hook("arraybobo", cred)  # a new fetch: alice's 1 per 30 s is spent
        assert info.value.provider == "arraybobo"
        assert info.value.denied_by == "handle:alice"
        with target_handle("bob"):
            await hook("arraybobo", cred)
        await hook("arraybobo", cred)  # no target handle: only provider/global limits
    finally:
        await limiter.aclose()


async def test_crawler_skips_a_provider_the_limiter_refuses(tmp_path: Path) -> None:
    """graphapi may serve one request per 30 s: the second fetch falls back to arraybobo
    without touching graphapi or blaming its credential."""
    limiter = LocalRateLimiter(tmp_path / "rl.sqlite3", specs=TIGHT)
    sandbox = await start_sandbox(state=SandboxState(seed=7))
    try:
        credentials = StaticCredentials.from_secrets(sandbox.credential_secrets())
        async with aiohttp.ClientSession() as http:
            crawler = InstagramCrawler(
                http,
                credentials,
                sandbox.base_urls,
                before_request=make_before_request(limiter, timeout=0.2),
            )
            first = await crawler.profile_with_posts("alice.example", max_posts=1)
            assert first.provider == "graphapi"
            served = sandbox.state.requests("graphapi")
            second = await crawler.profile_with_posts("alice.example", max_posts=1)
            assert second.provider == "arraybobo"
            assert "RateLimitTimeout" in second.attempts[0][1]
            assert sandbox.state.requests("graphapi") == served
            assert len(credentials.eligible("graphapi")) == 1
    finally:
        await sandbox.stop()
        await limiter.aclose()
