"""The sandbox serves the six scraping APIs over real HTTP, and the adapters parse what it sends.

Requests are built by the adapters' builders, sent with aiohttp, and parsed by the adapters'
parsers: the sandbox and the adapters agree on every format, error and rate-limit answer.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web

from providers.crawler import InstagramCrawler
from providers.credentials import Credential, StaticCredentials
from providers.errors import (
    CredentialRejected,
    MalformedResponse,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetPrivate,
)
from providers.http import ProviderRequest, RawResponse
from providers.instagram import PROVIDERS, InstagramProvider
from providers.instagram.base import KIND_FOLLOWERS_PAGE
from providers.model import InstagramFollower, InstagramPost, InstagramProfile
from sandbox import SandboxState, data, start_sandbox
from sandbox.app import build_app
from sandbox.instagram_rapid import QUOTAS, follower_handle, keys_for, register

T = TypeVar("T")

REFERENCE = 1718236800  # 2024-06-13T00:00:00Z
ALL = ("jotucker", "neotank", "igapi", "bestsolutions", "lama", "rocketapi")
WITH_POSTS = ("jotucker", "neotank", "igapi", "bestsolutions", "lama")
WITH_POST = ("jotucker", "lama", "rocketapi")
WITH_FOLLOWERS = ("jotucker", "rocketapi")
POST_TYPES = {"image": "image", "video": "reels", "carousel": "carousel"}


def pick_handle(test: Callable[[data.ProfileFacts], bool], stem: str = "sbx.acct") -> str:
    """The first deterministic handle whose facts pass ``test``."""
    for i in itertools.count():
        facts = data.facts_for(f"{stem}{i}", REFERENCE)
        if facts is not None and test(facts):
            return facts.handle
    raise AssertionError("unreachable")


def facts(handle: str) -> data.ProfileFacts:
    found = data.facts_for(handle, REFERENCE)
    assert found is not None
    return found


PUBLIC = pick_handle(lambda f: not f.is_private and 25 <= f.media_count <= 40)
FEW_FOLLOWERS = pick_handle(lambda f: f.followers <= 160, "sbx.small")


# --------------------------------------------------------------------------- serving


@dataclass
class Served:
    url: str
    state: SandboxState

    def base_url(self, provider: str) -> str:
        return f"{self.url}/{provider}"


async def _own_app(state: SandboxState) -> tuple[str, web.AppRunner]:
    """Until ``build_app`` mounts these providers itself: the same app plus ``register``."""
    app = build_app(state)
    register(app, state)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.25)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return f"http://127.0.0.1:{runner.addresses[0][1]}", runner


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    state = SandboxState(seed=5, reference_time=REFERENCE)
    running = await start_sandbox(state=state)
    if "jotucker" in state.providers:  # wired into build_app
        try:
            yield Served(running.url, state)
        finally:
            await running.stop()
        return
    await running.stop()
    url, runner = await _own_app(state)
    try:
        yield Served(url, state)
    finally:
        await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


# --------------------------------------------------------------------------- a tiny client


def cred(served: Served, provider: str, index: int = 0) -> Credential:
    secret = served.state.credential_secrets()[provider][index]
    return Credential(f"{provider}-{index}", provider, secret)


def expired_cred(served: Served, provider: str) -> Credential:
    secret = served.state.expired_credential_secrets()[provider][0]
    return Credential(f"{provider}-expired", provider, secret)


async def send(
    http: aiohttp.ClientSession, provider: str, kind: str, request: ProviderRequest
) -> RawResponse:
    async with http.request(
        request.method,
        request.url,
        params=request.params or None,
        headers=request.headers or None,
        json=request.json,
    ) as resp:
        body = await resp.read()
        return RawResponse.build(
            provider, kind, resp.status, body, list(resp.headers.items()), url=str(resp.url)
        )


async def patiently(call: Callable[[], Awaitable[T]], attempts: int = 8) -> T:
    """Run ``call``; on RateLimited wait as long as the provider said, like a real client."""
    for _ in range(attempts - 1):
        try:
            return await call()
        except RateLimited as err:
            assert err.retry_after is not None and 0 < err.retry_after <= 30
            await asyncio.sleep(min(err.retry_after, 1.5))
    return await call()


@dataclass
class Client:
    http: aiohttp.ClientSession
    served: Served
    name: str
    credential: Credential

    @property
    def provider(self) -> InstagramProvider:
        return PROVIDERS[self.name]

    @property
    def base(self) -> str:
        return self.served.base_url(self.name)

    async def raw(self, kind: str, request: ProviderRequest) -> RawResponse:
        return await send(self.http, self.name, kind, request)

    async def profile(self, handle: str) -> tuple[InstagramProfile, list[InstagramPost], Any]:
        async def once() -> Any:
            req = self.provider.profile_request(handle, self.credential, self.base)
            return self.provider.parse_profile(await self.raw("profile", req))

        result: tuple[InstagramProfile, list[InstagramPost], Any] = await patiently(once)
        return result

    async def posts(self, profile: InstagramProfile, cursor: str | None) -> Any:
        async def once() -> Any:
            req = self.provider.posts_request(profile, cursor, self.credential, self.base)
            return self.provider.parse_posts(await self.raw("posts_page", req))

        return await patiently(once)

    async def post(self, shortcode: str) -> InstagramPost:
        async def once() -> InstagramPost:
            req = self.provider.post_request(shortcode, self.credential, self.base)
            return self.provider.parse_post(await self.raw("post", req))

        return await patiently(once)

    async def followers(self, profile: InstagramProfile, cursor: str | None) -> Any:
        async def once() -> Any:
            req = self.provider.followers_request(profile, cursor, self.credential, self.base)
            return self.provider.parse_followers(await self.raw(KIND_FOLLOWERS_PAGE, req))

        return await patiently(once)

    async def all_posts(self, handle: str) -> tuple[InstagramProfile, list[InstagramPost]]:
        profile, posts, cursor = await self.profile(handle)
        posts = list(posts)
        if not self.provider.profile_includes_posts:
            page, cursor = await self.posts(profile, None)
            posts += page
        while cursor is not None:
            page, cursor = await self.posts(profile, cursor)
            posts += page
        return profile, posts

    async def all_followers(
        self, handle: str
    ) -> tuple[InstagramProfile, list[InstagramFollower], int]:
        profile, _, _ = await self.profile(handle)
        followers, cursor = await self.followers(profile, None)
        pages = 1
        while cursor is not None:
            page, cursor = await self.followers(profile, cursor)
            followers += page
            pages += 1
        return profile, followers, pages


def client(http: aiohttp.ClientSession, served: Served, name: str, key: int = 0) -> Client:
    return Client(http, served, name, cred(served, name, key))


# --------------------------------------------------------------------------- data served


@pytest.mark.parametrize("name", ALL)
async def test_profile_matches_the_facts(
    http: aiohttp.ClientSession, served: Served, name: str
) -> None:
    expected = facts(PUBLIC)
    profile, _, _ = await client(http, served, name).profile(PUBLIC.upper())
    assert (profile.profile_id, profile.handle, profile.full_name) == (
        expected.pk,
        expected.handle,
        expected.full_name,
    )
    assert (profile.followers, profile.following, profile.media_count) == (
        expected.followers,
        expected.following,
        expected.media_count,
    )
    assert (profile.is_private, profile.is_verified) == (False, expected.is_verified)
    assert profile.profile_type == {2: "business", 3: "creator"}[expected.account_type]
    assert (profile.biography, profile.external_url) == (
        expected.biography,
        expected.external_url,
    )
    assert profile.profile_pic_url == expected.profile_pic_url
    assert profile.fbid == expected.fbid


def _summary(post: InstagramPost) -> tuple[Any, ...]:
    return (
        post.shortcode,
        post.post_id,
        post.post_type,
        post.caption,
        post.likes,
        post.comments,
        post.taken_at,
        post.display_url,
    )


def _expected(post: data.PostFacts) -> tuple[Any, ...]:
    return (
        post.shortcode,
        post.post_id,
        POST_TYPES[post.kind],
        post.caption,
        post.likes,
        post.comments,
        datetime.fromtimestamp(post.taken_at, tz=UTC),
        post.display_url,
    )


@pytest.mark.parametrize("name", WITH_POSTS)
async def test_posts_page_through_every_post(
    http: aiohttp.ClientSession, served: Served, name: str
) -> None:
    expected = facts(PUBLIC)
    _, posts = await client(http, served, name).all_posts(PUBLIC)
    assert [_summary(p) for p in posts] == [_expected(p) for p in expected.posts]
    videos = [(p, f) for p, f in zip(posts, expected.posts, strict=True) if f.kind == "video"]
    assert all(p.views == f.views for p, f in videos)


@pytest.mark.parametrize("name", WITH_POST)
async def test_post_by_shortcode(http: aiohttp.ClientSession, served: Served, name: str) -> None:
    expected = facts(PUBLIC)
    for post_facts in expected.posts[:3]:
        post = await client(http, served, name).post(post_facts.shortcode)
        assert _summary(post) == _expected(post_facts)
        assert (post.profile_id, post.handle) == (expected.pk, expected.handle)


@pytest.mark.parametrize("name", WITH_FOLLOWERS)
async def test_followers_are_a_deterministic_paged_list(
    http: aiohttp.ClientSession, served: Served, name: str
) -> None:
    target = facts(FEW_FOLLOWERS)
    _, followers, pages = await client(http, served, name).all_followers(FEW_FOLLOWERS)
    assert pages == -(-target.followers // 50)
    assert [f.handle for f in followers] == [
        follower_handle(target.handle, i) for i in range(target.followers)
    ]
    for follower in followers:
        fan = facts(follower.handle)
        assert (follower.profile_id, follower.full_name, follower.is_private) == (
            fan.pk,
            fan.full_name,
            fan.handle.startswith("private_"),
        )
    assert any(f.is_private for f in followers) and not all(f.is_private for f in followers)


async def test_both_followers_providers_list_the_same_accounts(
    http: aiohttp.ClientSession, served: Served
) -> None:
    _, jot, _ = await client(http, served, "jotucker").all_followers(FEW_FOLLOWERS)
    _, rocket, _ = await client(http, served, "rocketapi").all_followers(FEW_FOLLOWERS)
    assert jot == rocket


async def test_a_follower_can_be_followed_up_by_id(
    http: aiohttp.ClientSession, served: Served
) -> None:
    """Followers are real sandbox accounts: their own followers can be listed by id."""
    jot = client(http, served, "jotucker")
    _, followers, _ = await jot.all_followers(FEW_FOLLOWERS)
    fan = next(f for f in followers if not f.is_private)
    page, _ = await jot.followers(InstagramProfile(fan.profile_id, fan.handle), None)
    assert page[0].handle == follower_handle(fan.handle, 0)


# --------------------------------------------------------------------------- target facts


MISSING = "missing_nobody"
PRIVATE = pick_handle(lambda f: f.is_private, "private_sbx")


@pytest.mark.parametrize("name", ALL)
async def test_missing_profiles_are_not_found(
    http: aiohttp.ClientSession, served: Served, name: str
) -> None:
    with pytest.raises(TargetNotFound) as info:
        await client(http, served, name).profile(MISSING)
    assert info.value.provider == name


@pytest.mark.parametrize("name", ALL)
async def test_private_profiles_parse_and_their_content_is_private(
    http: aiohttp.ClientSession, served: Served, name: str
) -> None:
    c = client(http, served, name)
    profile, posts, cursor = await c.profile(PRIVATE)
    assert profile.is_private is True and (posts, cursor) == ([], None)
    if name in WITH_POSTS:
        with pytest.raises(TargetPrivate):
            await c.posts(profile, None)
    if name in WITH_FOLLOWERS:
        with pytest.raises(TargetPrivate):
            await c.followers(profile, None)
    if name in WITH_POST:
        with pytest.raises(TargetPrivate):
            await c.post(facts(PRIVATE).posts[0].shortcode)


@pytest.mark.parametrize("name", WITH_POST)
async def test_unknown_shortcodes_are_not_found(
    http: aiohttp.ClientSession, served: Served, name: str
) -> None:
    with pytest.raises(TargetNotFound):
        await client(http, served, name).post(data.encode_shortcode(PUBLIC, 999))


@pytest.mark.parametrize("name", [n for n in ALL if n != "rocketapi"])
async def test_pages_of_an_unseen_id_are_not_found(
    http: aiohttp.ClientSession, served: Served, name: str
) -> None:
    unknown = InstagramProfile(profile_id="123", handle="never.seen")
    c = client(http, served, name)
    with pytest.raises(TargetNotFound):
        if name in WITH_POSTS:
            await c.posts(unknown, None)
        else:
            await c.followers(unknown, None)


# --------------------------------------------------------------------------- credentials


@pytest.mark.parametrize("name", ALL)
async def test_expired_and_unknown_credentials_are_rejected(
    http: aiohttp.ClientSession, served: Served, name: str
) -> None:
    assert len(served.state.credential_secrets()[name]) == 2
    provider = PROVIDERS[name]
    base = served.base_url(name)
    expired = expired_cred(served, name)
    wrong = Credential("w", name, {k: "not-a-key-000" for k in cred(served, name).secret})
    for credential in (expired, wrong):
        raw = await send(http, name, "profile", provider.profile_request(PUBLIC, credential, base))
        with pytest.raises(CredentialRejected) as info:
            provider.parse_profile(raw)
        secret = "".join(credential.secret.values())
        assert secret not in str(info.value) and secret not in repr(info.value)


async def test_rocket_wants_the_token_scheme(http: aiohttp.ClientSession, served: Served) -> None:
    key = keys_for("rocketapi")[0][0]
    bearer = Credential("b", "rocketapi", {"Authorization": f"Bearer {key}"})
    rocket = PROVIDERS["rocketapi"]
    req = rocket.profile_request(PUBLIC, bearer, served.base_url("rocketapi"))
    with pytest.raises(CredentialRejected):
        rocket.parse_profile(await send(http, "rocketapi", "profile", req))


# --------------------------------------------------------------------------- quotas


async def _burst(
    http: aiohttp.ClientSession, served: Served, name: str, credential: Credential, n: int
) -> list[RawResponse]:
    provider = PROVIDERS[name]
    req = provider.profile_request(PUBLIC, credential, served.base_url(name))
    return list(await asyncio.gather(*(send(http, name, "profile", req) for _ in range(n))))


async def _until_429(
    http: aiohttp.ClientSession, served: Served, name: str, credential: Credential
) -> RawResponse:
    """Bursts of limit + 1 requests until one is refused (a burst may straddle two windows)."""
    for _ in range(3):
        raws = await _burst(http, served, name, credential, QUOTAS[name].limit + 1)
        refused = [r for r in raws if r.status == 429]
        if refused:
            return refused[0]
    raise AssertionError(f"{name} never refused a burst over its quota")


@pytest.mark.parametrize("name", ALL)
async def test_over_quota_answers_the_providers_own_429(
    http: aiohttp.ClientSession, served: Served, name: str
) -> None:
    refused = await _until_429(http, served, name, cred(served, name, 0))
    with pytest.raises(RateLimited) as info:
        PROVIDERS[name].parse_profile(refused)
    window = QUOTAS[name].window_seconds
    assert info.value.retry_after is not None and 1 <= info.value.retry_after <= max(1, window)
    headers = refused.headers
    if name in ("lama", "rocketapi"):
        assert int(headers["retry-after"]) == info.value.retry_after
    else:
        assert headers["x-ratelimit-requests-limit"] == str(QUOTAS[name].limit)
        assert headers["x-ratelimit-requests-remaining"] == "0"
        assert headers["x-rapidapi-proxy-response"] == "true"
    if name == "rocketapi":
        assert b"Request was throttled" in refused.body
    # quotas are per credential: the other key is still served
    other = await _burst(http, served, name, cred(served, name, 1), 1)
    assert other[0].status == 200
    report = served.state.quota_report()[name]
    assert sum(entry["over_quota"] for entry in report.values()) >= 1


@pytest.mark.parametrize("name", ["jotucker", "igapi", "lama"])
async def test_successes_carry_the_quota_headers(
    http: aiohttp.ClientSession, served: Served, name: str
) -> None:
    raws = await _burst(http, served, name, cred(served, name), 1)
    prefix = "x-ratelimit-" if name == "lama" else "x-ratelimit-requests-"
    assert raws[0].headers[f"{prefix}limit"] == str(QUOTAS[name].limit)
    assert int(raws[0].headers[f"{prefix}remaining"]) < QUOTAS[name].limit


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("server_error", ProviderUnavailable),
        ("malformed", MalformedResponse),
        ("rate_limit", RateLimited),
        ("expired_token", CredentialRejected),
    ],
)
async def test_faults_come_out_as_the_right_errors(
    http: aiohttp.ClientSession,
    served: Served,
    name: str,
    mode: str,
    error: type[ProviderError],
) -> None:
    served.state.set_fault(name, mode)
    provider = PROVIDERS[name]
    # server_error and malformed draw one of two shapes; two keys keep within every quota
    for i in range(4):
        req = provider.profile_request(PUBLIC, cred(served, name, i % 2), served.base_url(name))
        with pytest.raises(error) as info:
            provider.parse_profile(await send(http, name, "profile", req))
        assert type(info.value) is error
        if isinstance(info.value, RateLimited):
            assert info.value.retry_after == 1.0


# --------------------------------------------------------------------------- through the crawler


async def test_the_crawler_walks_a_chain_of_these_providers(
    http: aiohttp.ClientSession, served: Served
) -> None:
    served.state.set_fault("igapi", "server_error")
    urls = {name: served.base_url(name) for name in ALL}
    crawler = InstagramCrawler(
        http,
        StaticCredentials.from_secrets(served.state.credential_secrets()),
        urls,
        chains={"profile_by_handle": ["igapi", "jotucker"], "post_by_shortcode": ["lama"]},
        timeout_seconds=5.0,
    )
    fetched = await crawler.profile_with_posts(PUBLIC, max_posts=20, max_age_days=None)
    assert fetched.provider == "jotucker"
    assert [p.shortcode for p in fetched.value.posts] == [
        p.shortcode for p in facts(PUBLIC).posts[:20]
    ]
    post = await crawler.post_by_shortcode(facts(PUBLIC).posts[1].shortcode)
    assert post.provider == "lama" and post.value.shortcode == facts(PUBLIC).posts[1].shortcode
