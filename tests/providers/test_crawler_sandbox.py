"""The crawler against the real sandbox over HTTP: fallback, facts, pagination, re-parsing."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from providers.crawler import DEFAULT_CHAINS, Fetched, InstagramCrawler, answered_at, reparse
from providers.credentials import Credential, StaticCredentials
from providers.errors import (
    BadInput,
    MalformedResponse,
    NoProviderAvailable,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetPrivate,
)
from providers.http import RawResponse
from providers.instagram import PROVIDERS, GraphApi
from providers.model import InstagramPost, ProfileWithPosts
from sandbox import RunningSandbox
from sandbox.data import facts_for

MakeCrawler = Callable[..., InstagramCrawler]
BOBO_FIRST = {"profile_by_handle": ["arraybobo", "graphapi"], "post_by_shortcode": ["arraybobo"]}


def handle_with_posts(at_least: int) -> str:
    for i in range(500):
        handle = f"creator.{i}"
        facts = facts_for(handle, 0)
        if facts is not None and facts.media_count >= at_least:
            return handle
    raise AssertionError("no such handle")


def _facts(sandbox: RunningSandbox, handle: str) -> Any:
    facts = facts_for(handle, sandbox.state.reference())
    assert facts is not None
    return facts


def _comparable(post: InstagramPost) -> tuple[Any, ...]:
    """What both providers must agree on."""
    return (
        post.shortcode,
        post.post_id,
        post.profile_id,
        post.handle,
        post.post_type,
        post.content_type,
        post.caption,
        post.likes,
        post.comments,
        post.taken_at,
    )


def test_default_chains_follow_the_reference_order() -> None:
    assert DEFAULT_CHAINS["profile_by_handle"] == [
        "graphapi", "arraybobo", "jotucker", "lama", "bestsolutions",
    ]  # fmt: skip
    assert DEFAULT_CHAINS["post_by_shortcode"] == ["arraybobo", "jotucker", "rocketapi", "lama"]
    assert DEFAULT_CHAINS["followers"] == ["rocketapi=0.7,jotucker=0.3"]


async def test_happy_path_uses_graph_first(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    handle = handle_with_posts(40)
    result = await make_crawler().profile_with_posts(handle)
    assert isinstance(result, Fetched)
    assert result.provider == "graphapi"
    assert result.attempts == []
    facts = _facts(sandbox, handle)
    profile = result.value.profile
    assert (profile.profile_id, profile.handle, profile.followers) == (
        facts.pk,
        handle,
        facts.followers,
    )
    assert profile.media_count == facts.media_count
    cutoff = (answered_at(result.raw[0]) or 0.0) - 30 * 86400
    expected = [p.shortcode for p in facts.posts if p.taken_at >= cutoff][:50]
    assert [p.shortcode for p in result.value.posts] == expected
    assert all(p.profile_id == facts.pk and p.handle == handle for p in result.value.posts)
    assert all(r.provider == "graphapi" for r in result.raw)
    assert sandbox.state.requests("arraybobo") == 0


async def test_graph_fault_falls_back_to_arraybobo_with_the_same_facts(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    handle = handle_with_posts(30)
    crawler = make_crawler()
    via_graph = await crawler.profile_with_posts(handle, max_age_days=None)
    sandbox.state.set_fault("graphapi", "server_error")
    via_bobo = await crawler.profile_with_posts(handle, max_age_days=None)
    assert via_bobo.provider == "arraybobo"
    assert [p for p, _ in via_bobo.attempts] == ["graphapi"]
    assert "ProviderUnavailable" in via_bobo.attempts[0][1]
    assert {r.provider for r in via_bobo.raw} == {"arraybobo"}
    g, b = via_graph.value, via_bobo.value
    for field in (
        "profile_id",
        "handle",
        "full_name",
        "biography",
        "followers",
        "following",
        "media_count",
        "profile_pic_url",
        "fbid",
        "external_url",
        "is_business_or_creator",
    ):
        assert getattr(g.profile, field) == getattr(b.profile, field), field
    assert [_comparable(p) for p in g.posts] == [_comparable(p) for p in b.posts]
    assert len(b.posts) == min(50, _facts(sandbox, handle).media_count)


async def test_rate_limit_cools_the_credential(
    sandbox: RunningSandbox, make_crawler: MakeCrawler, credentials: StaticCredentials
) -> None:
    sandbox.state.set_fault("graphapi", "rate_limit")
    crawler = make_crawler()
    first = await crawler.profile_with_posts("alice.example")
    assert first.provider == "arraybobo"
    assert "RateLimited" in first.attempts[0][1]
    assert len(credentials.eligible("arraybobo")) == 1
    assert credentials.eligible("graphapi") == []  # cooling (Graph said ~1 minute)
    second = await crawler.profile_with_posts("alice.example")
    assert second.attempts == [("graphapi", "no eligible credential")]
    assert sandbox.state.requests("graphapi") == 1


async def test_expired_token_kills_the_credential(
    sandbox: RunningSandbox, make_crawler: MakeCrawler, credentials: StaticCredentials
) -> None:
    sandbox.state.set_fault("graphapi", "expired_token")
    result = await make_crawler().profile_with_posts("alice.example")
    assert result.provider == "arraybobo"
    assert "CredentialRejected" in result.attempts[0][1]
    assert credentials.eligible("graphapi") == []
    second = await make_crawler().profile_with_posts("alice.example")
    assert second.attempts == [("graphapi", "no eligible credential")]
    assert sandbox.state.requests("graphapi") == 1


async def test_graph_not_found_asks_the_next_provider_which_settles_it(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    # Graph's 110 also covers personal accounts, so only the next provider's 404 is a fact.
    with pytest.raises(TargetNotFound) as info:
        await make_crawler().profile_with_posts("missing_someone")
    assert info.value.provider == "arraybobo"
    assert sandbox.state.requests("graphapi") == 1
    assert sandbox.state.requests("arraybobo") == 1


async def test_missing_handle_on_arraybobo(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    with pytest.raises(TargetNotFound) as info:
        await make_crawler(chains=BOBO_FIRST).profile_with_posts("missing_someone")
    assert info.value.provider == "arraybobo"
    assert sandbox.state.requests("graphapi") == 0


async def test_private_account(sandbox: RunningSandbox, make_crawler: MakeCrawler) -> None:
    result = await make_crawler().profile_with_posts("private_person")
    # Graph cannot see personal accounts: it is skipped without blaming anyone.
    assert result.provider == "arraybobo"
    assert "TargetNotServed" in result.attempts[0][1]
    assert result.value.profile.is_private is True
    assert result.value.profile.profile_type == "personal"
    assert result.value.posts == ()
    assert [r.kind for r in result.raw] == ["profile"]  # no posts request for a private account
    assert sandbox.state.stats()["arraybobo"]["by_kind"] == {"profile": 1}


async def test_private_posts_and_post_are_facts(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    crawler = make_crawler()
    facts = _facts(sandbox, "private_person")
    with pytest.raises(TargetPrivate):
        await crawler.post_by_shortcode(facts.posts[0].shortcode)
    # posts of a private account, asked directly, are a TargetPrivate too
    bobo = PROVIDERS["arraybobo"]
    cred = await crawler.credentials.pick("arraybobo")
    assert cred is not None
    profile = (await crawler.profile_with_posts("private_person")).value.profile
    raw = await crawler._execute(
        "arraybobo",
        "posts_page",
        bobo.posts_request(profile, None, cred, sandbox.arraybobo_url),
        cred,
    )
    with pytest.raises(TargetPrivate):
        bobo.parse_posts(raw)


async def test_graph_not_served_is_not_reported(
    sandbox: RunningSandbox, make_crawler: MakeCrawler, credentials: StaticCredentials
) -> None:
    await make_crawler().profile_with_posts("private_person")
    assert len(credentials.eligible("graphapi")) == 1


async def test_all_faulted(sandbox: RunningSandbox, make_crawler: MakeCrawler) -> None:
    sandbox.state.set_fault("*", "server_error")
    with pytest.raises(NoProviderAvailable) as info:
        await make_crawler().profile_with_posts("alice.example")
    err = info.value
    chain = ["graphapi", "arraybobo", "jotucker", "lama", "bestsolutions"]
    assert [p for p, _ in err.attempts] == chain
    assert all(isinstance(e, ProviderUnavailable) for e in err.errors)
    assert {e.provider for e in err.errors} == set(chain)


async def test_rate_limited_everywhere_carries_retry_after(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    sandbox.state.set_fault("*", "rate_limit")
    with pytest.raises(NoProviderAvailable) as info:
        await make_crawler().profile_with_posts("alice.example")
    assert all(isinstance(e, RateLimited) for e in info.value.errors)
    assert info.value.retry_after == 1.0  # arraybobo's Retry-After beats Graph's 60 s estimate


async def test_no_credentials_at_all(sandbox: RunningSandbox, make_crawler: MakeCrawler) -> None:
    crawler = make_crawler(credentials=StaticCredentials({}))
    with pytest.raises(NoProviderAvailable) as info:
        await crawler.profile_with_posts("alice.example")
    chain = ["graphapi", "arraybobo", "jotucker", "lama", "bestsolutions"]
    assert info.value.attempts == [(name, "no eligible credential") for name in chain]
    assert info.value.errors == []
    assert sum(sandbox.state.requests(name) for name in chain) == 0


async def test_missing_base_url_and_unsupported_provider_are_skipped(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    crawler = make_crawler(
        base_urls={"arraybobo": sandbox.arraybobo_url},
        chains={"post_by_shortcode": ["graphapi", "arraybobo"], "profile_by_handle": ["graphapi"]},
    )
    facts = _facts(sandbox, "alice.example")
    result = await crawler.post_by_shortcode(facts.posts[0].shortcode)
    assert result.provider == "arraybobo"
    assert result.attempts == [("graphapi", "does not support post_by_shortcode")]
    with pytest.raises(NoProviderAvailable) as info:
        await crawler.profile_with_posts("alice.example")
    assert info.value.attempts == [("graphapi", "no base URL configured")]


def test_unknown_provider_in_chain_is_a_config_error(make_crawler: MakeCrawler) -> None:
    with pytest.raises(ValueError, match="unknown providers"):
        make_crawler(chains={"profile_by_handle": ["no_such_provider"]})


async def test_slow_answer_past_the_timeout_falls_back(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    sandbox.state.set_fault("graphapi", "slow", delay_seconds=3.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await make_crawler(timeout_seconds=0.3).profile_with_posts("alice.example")
    assert loop.time() - started < 2.5
    assert result.provider == "arraybobo"
    assert "no answer within 0.3s" in result.attempts[0][1]


async def test_malformed_answers_fall_back(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    sandbox.state.set_fault("graphapi", "malformed")
    for _ in range(4):  # truncated JSON or an HTML page, both are MalformedResponse
        result = await make_crawler().profile_with_posts("alice.example")
        assert result.provider == "arraybobo"
        assert "MalformedResponse" in result.attempts[0][1]


async def test_connection_refused_falls_back(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    crawler = make_crawler(
        base_urls={"graphapi": "http://127.0.0.1:9/graph", "arraybobo": sandbox.arraybobo_url}
    )
    result = await crawler.profile_with_posts("alice.example")
    assert result.provider == "arraybobo"
    assert "connection failed" in result.attempts[0][1]


async def test_body_cap(sandbox: RunningSandbox, make_crawler: MakeCrawler) -> None:
    with pytest.raises(NoProviderAvailable) as info:
        await make_crawler(max_body_bytes=200).profile_with_posts("alice.example")
    assert all(isinstance(e, MalformedResponse) for e in info.value.errors)
    assert "200-byte cap" in info.value.attempts[0][1]


async def test_bad_input_is_rejected_before_any_request(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    crawler = make_crawler()
    for handle in ("", "has space", "x" * 31, "semi;colon"):
        with pytest.raises(BadInput):
            await crawler.profile_with_posts(handle)
    for shortcode in ("", "a/b", "x" * 200):
        with pytest.raises(BadInput):
            await crawler.post_by_shortcode(shortcode)
    with pytest.raises(BadInput):
        await crawler.profile_with_posts("alice", max_posts=-1)
    assert sandbox.state.requests("graphapi") + sandbox.state.requests("arraybobo") == 0


async def test_handles_are_normalized(make_crawler: MakeCrawler) -> None:
    result = await make_crawler().profile_with_posts("  @Alice.Example ")
    assert result.value.profile.handle == "alice.example"


@pytest.mark.parametrize("chains", [None, BOBO_FIRST])
async def test_pagination_limits(
    sandbox: RunningSandbox, make_crawler: MakeCrawler, chains: dict[str, list[str]] | None
) -> None:
    handle = handle_with_posts(55)
    facts = _facts(sandbox, handle)
    crawler = make_crawler(chains=chains)
    everything = await crawler.profile_with_posts(handle, max_posts=None, max_age_days=None)
    assert [p.shortcode for p in everything.value.posts] == [p.shortcode for p in facts.posts]
    page = 25 if everything.provider == "graphapi" else 12
    expected_pages = -(-facts.media_count // page)
    kinds = [r.kind for r in everything.raw]
    if everything.provider == "graphapi":
        assert kinds == ["profile"] + ["posts_page"] * (expected_pages - 1)
    else:
        assert kinds == ["profile"] + ["posts_page"] * expected_pages
    assert len({r.provider for r in everything.raw}) == 1

    some = await crawler.profile_with_posts(handle, max_posts=13, max_age_days=None)
    assert [p.shortcode for p in some.value.posts] == [p.shortcode for p in facts.posts[:13]]
    # Graph's profile answer already holds 25 posts; arraybobo needs two 12-post pages.
    assert len(some.raw) == (1 if some.provider == "graphapi" else 3)

    none = await crawler.profile_with_posts(handle, max_posts=0)
    assert none.value.posts == ()
    assert len(none.raw) == 1


async def test_recent_posts_stop_paging(sandbox: RunningSandbox, make_crawler: MakeCrawler) -> None:
    handle = handle_with_posts(55)
    facts = _facts(sandbox, handle)
    result = await make_crawler(chains=BOBO_FIRST).profile_with_posts(
        handle, max_posts=None, max_age_days=7
    )
    cutoff = (answered_at(result.raw[0]) or 0.0) - 7 * 86400
    assert [p.shortcode for p in result.value.posts] == [
        p.shortcode for p in facts.posts if p.taken_at >= cutoff
    ]
    # pages stop once a page ends past the cut-off
    needed = next(i for i, p in enumerate(facts.posts) if p.taken_at < cutoff) // 12 + 1
    assert len(result.raw) == 1 + needed


async def test_a_fault_mid_pagination_restarts_on_the_next_provider(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    handle = handle_with_posts(40)
    seen: list[str] = []

    async def hook(provider: str, credential: Credential) -> None:
        seen.append(provider)
        if provider == "arraybobo" and seen.count("arraybobo") == 2:
            # the profile went through; break arraybobo before its first posts page
            sandbox.state.set_fault("arraybobo", "server_error")

    crawler = make_crawler(chains=BOBO_FIRST, before_request=hook)
    result = await crawler.profile_with_posts(handle, max_posts=40, max_age_days=None)
    assert result.provider == "graphapi"
    assert [p for p, _ in result.attempts] == ["arraybobo"]
    assert {r.provider for r in result.raw} == {"graphapi"}
    assert [r.kind for r in result.raw] == ["profile", "posts_page"]
    assert len(result.value.posts) == 40
    stats = sandbox.state.stats()
    assert stats["arraybobo"]["by_kind"] == {"profile": 1, "posts_page": 1}
    assert stats["graphapi"]["by_kind"] == {"profile": 1, "posts_page": 1}
    assert seen == ["arraybobo", "arraybobo", "graphapi", "graphapi"]


async def test_hook_fault_moves_on_without_blaming_the_credential(
    sandbox: RunningSandbox, make_crawler: MakeCrawler, credentials: StaticCredentials
) -> None:
    async def limiter(provider: str, credential: Credential) -> None:
        if provider == "graphapi":
            raise RateLimited("local limiter says wait", retry_after=0.5)

    result = await make_crawler(before_request=limiter).profile_with_posts("alice.example")
    assert result.provider == "arraybobo"
    assert "local limiter" in result.attempts[0][1]
    assert sandbox.state.requests("graphapi") == 0
    assert len(credentials.eligible("graphapi")) == 1


async def test_post_by_shortcode_resolves_profile_posts(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    crawler = make_crawler(chains=BOBO_FIRST)
    listing = await crawler.profile_with_posts("alice.example", max_age_days=None)
    for listed in listing.value.posts[:5]:
        single = await crawler.post_by_shortcode(listed.shortcode)
        assert single.provider == "arraybobo"
        assert single.value.shortcode == listed.shortcode
        assert dataclasses.replace(single.value, plays=None) == listed


async def test_unknown_shortcode_is_not_found(make_crawler: MakeCrawler) -> None:
    with pytest.raises(TargetNotFound):
        await make_crawler().post_by_shortcode("C7AbCdEfGhI")


@pytest.mark.parametrize("chains", [None, BOBO_FIRST])
async def test_reparse_equals_live(
    sandbox: RunningSandbox, make_crawler: MakeCrawler, chains: dict[str, list[str]] | None
) -> None:
    handle = handle_with_posts(45)
    crawler = make_crawler(chains=chains)
    live = await crawler.profile_with_posts(handle, max_posts=30, max_age_days=20)
    assert len(live.raw) >= 2 or live.provider == "graphapi"
    assert crawler.reparse(live.raw, max_posts=30, max_age_days=20) == live.value
    stored = [RawResponse.from_dict(r.to_dict()) for r in live.raw]
    before = sandbox.state.requests("graphapi") + sandbox.state.requests("arraybobo")
    again = reparse(stored, max_posts=30, max_age_days=20)
    assert again == live.value
    assert isinstance(again, ProfileWithPosts)
    assert sandbox.state.requests("graphapi") + sandbox.state.requests("arraybobo") == before


async def test_reparse_from_storage_without_fetch_time(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    """Storage that keeps only status, headers and body still re-parses to the live value."""
    handle = handle_with_posts(45)
    for chains in (None, BOBO_FIRST):
        live = await make_crawler(chains=chains).profile_with_posts(handle)
        stored = [dataclasses.replace(r, fetched_at=0.0, elapsed_ms=0.0) for r in live.raw]
        assert InstagramCrawler.reparse(stored) == live.value


def test_answered_at() -> None:
    dated = RawResponse.build(
        "graphapi", "profile", 200, b"", headers={"Date": "Wed, 15 May 2024 00:00:00 GMT"}
    )
    assert answered_at(dated) == 1715731200.0
    undated = RawResponse.build("graphapi", "profile", 200, b"", fetched_at=1700000000.5)
    assert answered_at(undated) == 1700000000.5
    junk = RawResponse.build("graphapi", "profile", 200, b"", headers={"Date": "yesterday"})
    assert answered_at(junk) is None


async def test_reparse_post(sandbox: RunningSandbox, make_crawler: MakeCrawler) -> None:
    facts = _facts(sandbox, "alice.example")
    live = await make_crawler().post_by_shortcode(facts.posts[2].shortcode)
    assert reparse(live.raw) == live.value


def test_reparse_rejects_inconsistent_input() -> None:
    ok = RawResponse.build("arraybobo", "profile", 200, b"{}")
    with pytest.raises(ValueError):
        reparse([])
    with pytest.raises(ValueError):
        reparse([ok, RawResponse.build("graphapi", "posts_page", 200, b"{}")])
    with pytest.raises(ValueError):
        reparse([RawResponse.build("nobody", "profile", 200, b"{}")])
    with pytest.raises(ValueError):
        reparse([RawResponse.build("arraybobo", "posts_page", 200, b"{}")])


async def test_graph_not_found_can_fall_through(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    providers = dict(PROVIDERS, graphapi=GraphApi(not_found_is_final=False))
    crawler = make_crawler(providers=providers)
    with pytest.raises(TargetNotFound) as info:
        await crawler.profile_with_posts("missing_person")
    assert info.value.provider == "arraybobo"  # Graph's "cannot find" was not trusted
    assert sandbox.state.requests("graphapi") == 1
