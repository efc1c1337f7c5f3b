"""Followers: the original's weighted split as data, and pagination that never switches
provider, over real HTTP against the sandbox."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from providers.crawler import InstagramCrawler
from providers.errors import NoProviderAvailable
from sandbox import RunningSandbox

HANDLE = "alice.example"


@pytest.fixture(autouse=True)
def no_plan_quotas(sandbox: RunningSandbox) -> None:
    """These tests are about chains, not budgets (no rate limiter here): lift the sandbox's
    per-credential plans so its 429s don't decide which provider serves."""
    for name in ("rocketapi", "jotucker"):
        sandbox.state.providers[name].quota = None


async def test_first_pages_split_by_weight(make_crawler: Callable[..., InstagramCrawler]) -> None:
    crawler = make_crawler(rng=random.Random(5))
    served = Counter([(await crawler.followers(HANDLE)).provider for _ in range(60)])
    assert set(served) == {"rocketapi", "jotucker"}
    assert 0.5 < served["rocketapi"] / 60 < 0.9  # 0.7 expected


async def test_a_listing_stays_on_its_provider(
    make_crawler: Callable[..., InstagramCrawler], sandbox: RunningSandbox
) -> None:
    crawler = make_crawler(chains={"followers": ["rocketapi", "jotucker"]})
    first = await crawler.followers(HANDLE)
    assert first.provider == "rocketapi" and first.value.next is not None
    seen = {f.handle for f in first.value.followers}
    page = first
    for _ in range(3):
        assert page.value.next is not None
        jotucker_before = sandbox.state.requests("jotucker")
        page = await crawler.followers(HANDLE, page.value.next)
        assert page.provider == "rocketapi"
        assert sandbox.state.requests("jotucker") == jotucker_before
        assert not seen & {f.handle for f in page.value.followers}  # no page served twice
        seen |= {f.handle for f in page.value.followers}
        if page.value.next is None:
            break
    # When the cursor's provider fails, the next page fails: no other provider could use it.
    sandbox.state.set_fault("rocketapi", "server_error")
    if page.value.next is not None:
        with pytest.raises(NoProviderAvailable) as info:
            await crawler.followers(HANDLE, page.value.next)
        assert [p for p, _ in info.value.attempts] == ["rocketapi"]


async def test_followers_fall_back_on_faults(
    make_crawler: Callable[..., InstagramCrawler], sandbox: RunningSandbox
) -> None:
    sandbox.state.set_fault("rocketapi", "server_error")
    crawler: Any = make_crawler()
    for _ in range(5):
        got = await crawler.followers(HANDLE)
        assert got.provider == "jotucker" and got.value.followers
