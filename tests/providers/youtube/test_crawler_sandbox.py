"""The YouTube crawler against the sandbox over real HTTP: chains, fallback, paging, OAuth."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from typing import Any

import aiohttp
import pytest

from providers.cooling import seconds_until_midnight_pacific
from providers.credentials import Credential, Outcome, StaticCredentials
from providers.engine import Fetched
from providers.errors import (
    BadInput,
    NoProviderAvailable,
    ProviderError,
    TargetNotFound,
)
from providers.http import RawResponse
from providers.youtube.crawler import DEFAULT_CHAINS, YouTubeCrawler, reparse_videos
from providers.youtube.model import YouTubeChannel, YouTubeVideo
from sandbox import youtube as world_data
from sandbox.state import Quota
from tests.providers.youtube.support import YouTubeSandbox

ONLY = {
    name: {
        "channel": [name],
        "channel_video_ids": [name],
        "videos": [name],
        "search": ["ytapitoken"],
    }
    for name in ("ytapitoken", "ytapi", "yt-v31", "youtube138")
}


def handle_with(at_least: int, at_most: int = 10_000) -> str:
    """A catalogue handle (the sandbox resolves its channel id from the start)."""
    for handle in world_data.CATALOGUE:
        facts = world_data.channel_facts(handle, 0)
        if facts is not None and at_least <= facts.video_count <= at_most:
            return handle
    raise AssertionError("no such handle")


def missing_handle() -> str:
    for i in range(500):
        if world_data.channel_facts(f"someone.{i}", 0) is None:
            return f"someone.{i}"
    raise AssertionError("no missing handle")


def crawler(
    yt: YouTubeSandbox,
    session: aiohttp.ClientSession,
    credentials: Any,
    chains: dict[str, list[Any]] | None = None,
    **kwargs: Any,
) -> YouTubeCrawler:
    return YouTubeCrawler(
        session,
        credentials,
        yt.base_urls,
        chains,
        timeout_seconds=5.0,
        rng=random.Random(1),
        **kwargs,
    )


def facts_of(yt: YouTubeSandbox, handle: str) -> world_data.ChannelFacts:
    facts = world_data.channel_facts(handle, yt.state.reference())
    assert facts is not None
    return facts


def _core(channel: YouTubeChannel) -> tuple[Any, ...]:
    """What every provider must agree on."""
    return (
        channel.channel_id,
        channel.title,
        channel.description,
        channel.custom_url,
        channel.country,
        channel.published_at,
        channel.uploads_playlist_id,
        channel.subscriber_count,
        channel.view_count,
        channel.video_count,
    )


def _video_core(video: YouTubeVideo) -> tuple[Any, ...]:
    return (
        video.video_id,
        video.channel_id,
        video.channel_title,
        video.title,
        video.description,
        video.published_at,
        video.duration_seconds,
        video.tags,
        video.view_count,
        video.like_count,
        video.comment_count,
    )


def test_default_chains_put_the_key_api_first() -> None:
    data_api = {k: v for k, v in DEFAULT_CHAINS.items() if k not in ("post_type", "insights")}
    assert all(chain[0] == "ytapitoken" for chain in data_api.values())
    assert DEFAULT_CHAINS["insights"] == ["ytapi"]  # only the owner's grant reads its audience
    assert DEFAULT_CHAINS["post_type"] == ["yt-shorts"]  # only youtube.com itself can tell
    ids = DEFAULT_CHAINS["channel_video_ids"]
    assert ids.index("yt-v31") < ids.index("youtube138")
    assert DEFAULT_CHAINS["search"] == ["ytapitoken", "yt-search"]


async def test_channel_by_handle_and_by_id(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    handle = handle_with(1)
    yc = crawler(yt, session, yt.credentials())
    result = await yc.channel(handle="@" + handle.upper())
    assert isinstance(result, Fetched)
    assert (result.provider, result.attempts) == ("ytapitoken", [])
    facts = facts_of(yt, handle)
    channel = result.value
    assert channel.channel_id == facts.channel_id == world_data.channel_id_for(handle)
    assert channel.custom_url == "@" + handle
    assert channel.video_count == facts.video_count
    assert channel.uploads_playlist_id == "UU" + facts.channel_id[2:]
    assert [r.kind for r in result.raw] == ["channel"]
    again = await yc.channel(channel_id=channel.channel_id)
    assert again.value == channel


async def test_every_provider_serves_the_same_channel_and_videos(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    handle = handle_with(35, 70)
    channel_id = world_data.channel_id_for(handle)
    creds = yt.credentials()
    reference = await crawler(yt, session, creds).channel(handle=handle)
    videos = await crawler(yt, session, creds).channel_videos(channel_id, max_videos=35)
    for name in ("ytapi", "yt-v31", "youtube138"):
        yc = crawler(yt, session, creds, ONLY[name])
        channel = await yc.channel(channel_id=channel_id)
        assert channel.provider == name
        assert _core(channel.value) == _core(reference.value), name
        listed = await yc.channel_videos(channel_id, max_videos=35)
        assert listed.provider == name
        assert [_video_core(v) for v in listed.value] == [_video_core(v) for v in videos.value]


async def test_channel_videos_pages_the_uploads_then_fetches_details_by_fifty(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    handle = handle_with(120)
    facts = facts_of(yt, handle)
    result = await crawler(yt, session, yt.credentials()).channel_videos(
        facts.channel_id, max_videos=120
    )
    assert result.provider == "ytapitoken"
    assert [v.video_id for v in result.value] == [facts.video_id(i) for i in range(120)]
    published = [v.taken_at_timestamp or 0 for v in result.value]
    assert published == sorted(published, reverse=True)  # newest first
    kinds = [r.kind for r in result.raw]
    assert kinds == ["playlist_page"] * 3 + ["videos"] * 3
    assert {r.provider for r in result.raw} == {"ytapitoken"}
    assert {v.post_type for v in result.value} <= {"video", "short"}
    assert reparse_videos(result.raw) == result.value


async def test_quota_exceeded_moves_to_the_next_provider(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    yt.state.providers["ytapitoken"].quota = Quota(limit=0, window_seconds=86400.0)
    clock = [1000.0]
    creds = StaticCredentials.from_secrets(
        yt.secrets("ytapitoken", "yt-v31", count=1), clock=lambda: clock[0]
    )
    channel_id = world_data.channel_id_for(handle_with(1))
    result = await crawler(yt, session, creds).channel(channel_id=channel_id)
    assert result.provider == "yt-v31"
    (name, reason), skipped = result.attempts
    assert name == "ytapitoken" and "RateLimited" in reason and "quota" in reason
    assert skipped == ("ytapi", "no eligible credential")
    cooling = creds.cooling_until(Credential("ytapitoken-0", "ytapitoken", {}))
    assert cooling is not None
    assert abs((cooling - clock[0]) - seconds_until_midnight_pacific()) < 10
    # The key stays out for the day: the next fetch goes straight to yt-v31.
    before = yt.requests("ytapitoken")
    again = await crawler(yt, session, creds).channel(channel_id=channel_id)
    assert again.provider == "yt-v31" and yt.requests("ytapitoken") == before
    assert again.attempts == [
        ("ytapitoken", "no eligible credential"),
        ("ytapi", "no eligible credential"),
    ]


async def test_a_handle_needs_the_data_api(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    yt.state.providers["ytapitoken"].quota = Quota(limit=0, window_seconds=86400.0)
    creds = yt.credentials("ytapitoken", "yt-v31", "youtube138")
    with pytest.raises(NoProviderAvailable) as info:
        await crawler(yt, session, creds).channel(handle=handle_with(1))
    reasons = dict(info.value.attempts)
    assert list(reasons) == ["ytapitoken", "ytapi", "yt-v31", "youtube138"]
    assert "quota" in reasons["ytapitoken"]
    assert "TargetNotServed" in reasons["yt-v31"] and "TargetNotServed" in reasons["youtube138"]
    assert yt.requests("yt-v31") == 0 and yt.requests("youtube138") == 0


async def test_search_falls_back_to_yt_search(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    creds = yt.credentials("ytapitoken", "yt-search")
    direct = await crawler(yt, session, creds).search("chess openings", max_results=60)
    assert direct.provider == "ytapitoken" and len(direct.value) == 60
    assert [r.kind for r in direct.raw] == ["search", "search"]
    yt.state.providers["ytapitoken"].quota = Quota(limit=0, window_seconds=86400.0)
    fallback = await crawler(yt, session, yt.credentials("ytapitoken", "yt-search")).search(
        "chess openings", max_results=60
    )
    assert fallback.provider == "yt-search"
    assert [r.target_id for r in fallback.value] == [r.target_id for r in direct.value]


async def test_a_missing_channel_is_a_fact_not_a_fault(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    yc = crawler(yt, session, yt.credentials())
    with pytest.raises(TargetNotFound) as by_handle:
        await yc.channel(handle=missing_handle())
    assert by_handle.value.provider == "ytapitoken"
    unknown = "UC" + "x" * 22
    with pytest.raises(TargetNotFound):
        await yc.channel(channel_id=unknown)
    with pytest.raises(TargetNotFound):
        await yc.channel_videos(unknown)
    for other in ("ytapi", "yt-v31", "youtube138"):
        assert yt.requests(other) == 0, other


async def test_pagination_stays_on_the_provider_that_started(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    facts = facts_of(yt, handle_with(120))
    # One key, one request left: the first uploads page passes, the second hits the quota.
    yt.state.providers["ytapitoken"].quota = Quota(limit=1, window_seconds=86400.0)
    creds = yt.credentials("ytapitoken", "yt-v31", count=1)
    chains = {"channel_video_ids": ["ytapitoken", "yt-v31"], "videos": ["ytapitoken", "yt-v31"]}
    result = await crawler(yt, session, creds, chains).channel_videos(
        facts.channel_id, max_videos=120
    )
    pages = [r for r in result.raw if r.kind == "playlist_page"]
    assert {r.provider for r in pages} == {"yt-v31"}  # restarted from scratch, not continued
    assert len(pages) == 3
    assert [v.video_id for v in result.value] == [facts.video_id(i) for i in range(120)]
    assert result.attempts[0][0] == "ytapitoken"
    assert yt.requests("ytapitoken", "playlist_page") == 2


async def test_an_expired_key_is_dropped_for_good(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    expired = {"key": world_data.EXPIRED_KEYS["ytapitoken"]}
    creds = StaticCredentials.from_secrets(
        {"ytapitoken": [expired], "yt-v31": yt.secrets("yt-v31")["yt-v31"]}
    )
    channel_id = world_data.channel_id_for(handle_with(1))
    result = await crawler(yt, session, creds).channel(channel_id=channel_id)
    assert result.provider == "yt-v31"
    assert "CredentialRejected" in result.attempts[0][1]
    assert creds.is_dead(Credential("ytapitoken-0", "ytapitoken", {}))
    assert expired["key"] not in str(result.attempts)


async def test_videos_by_id(yt: YouTubeSandbox, session: aiohttp.ClientSession) -> None:
    facts = facts_of(yt, handle_with(60))
    ids = [facts.video_id(i) for i in (5, 0, 59)]
    yc = crawler(yt, session, yt.credentials())
    result = await yc.videos([*ids, ids[0], "zzzzzzzzzzz"])
    assert [v.video_id for v in result.value] == ids
    with pytest.raises(TargetNotFound):
        await yc.videos(["zzzzzzzzzzz"])
    with pytest.raises(BadInput):
        await yc.videos(["not a video id"])
    one_by_one = await crawler(yt, session, yt.credentials(), ONLY["youtube138"]).videos(ids)
    assert [r.kind for r in one_by_one.raw] == ["videos"] * 3
    assert [_video_core(v) for v in one_by_one.value] == [_video_core(v) for v in result.value]


async def test_secrets_stay_out_of_raw_responses(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    facts = facts_of(yt, handle_with(10))
    creds = yt.credentials()
    for name in ("ytapitoken", "yt-v31", "youtube138"):
        result = await crawler(yt, session, creds, ONLY[name]).channel_videos(
            facts.channel_id, max_videos=10
        )
        for secret in yt.secrets(name)[name]:
            for value in secret.values():
                if "rapidapi.com" not in value:
                    _assert_absent(value, result.raw)


def _assert_absent(secret: str, raws: Iterable[RawResponse]) -> None:
    for raw in raws:
        assert secret not in raw.url_redacted
        assert secret.encode() not in raw.body
        assert all(secret not in v for v in raw.headers.values())
        assert secret not in str(raw.to_dict())


# ------------------------------------------------------------------------------ OAuth (ytapi)


class RecordingCredentials:
    """The static pool, noting which credential each fetch was handed."""

    def __init__(self, pool: StaticCredentials) -> None:
        self.pool = pool
        self.picked: list[str] = []

    async def pick(self, provider: str, *, handle: str | None = None) -> Credential | None:
        cred = await self.pool.pick(provider, handle=handle)
        if cred is not None:
            self.picked.append(cred.id)
        return cred

    async def report(self, cred: Credential, outcome: Outcome) -> None:
        await self.pool.report(cred, outcome)


def _issued_tokens(yt: YouTubeSandbox) -> list[str]:
    return list(yt.world.grants)


async def test_oauth_refreshes_once_per_credential(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    facts = facts_of(yt, handle_with(60))
    creds = RecordingCredentials(yt.credentials("ytapi"))
    yc = crawler(yt, session, creds, ONLY["ytapi"])
    for _ in range(4):
        await yc.channel(channel_id=facts.channel_id)
    listed = await yc.channel_videos(facts.channel_id, max_videos=60)
    await asyncio.gather(*(yc.channel(channel_id=facts.channel_id) for _ in range(6)))
    used = set(creds.picked)
    assert 1 <= len(used) <= 2
    assert yc.token_refreshes == len(used)
    assert yt.requests("ytapi", "oauth_token") == len(used)
    assert len(_issued_tokens(yt)) == len(used)
    assert listed.provider == "ytapi" and len(listed.value) == 60
    assert "oauth_token" not in {r.kind for r in listed.raw}


async def test_concurrent_fetches_share_one_refresh(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    channel_id = world_data.channel_id_for(handle_with(1))
    yc = crawler(yt, session, yt.credentials("ytapi", count=1), ONLY["ytapi"])
    results = await asyncio.gather(*(yc.channel(channel_id=channel_id) for _ in range(8)))
    assert {r.provider for r in results} == {"ytapi"}
    assert yc.token_refreshes == 1 and yt.requests("ytapi", "oauth_token") == 1


async def test_the_access_token_never_shows(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    facts = facts_of(yt, handle_with(10))
    calls: list[Any] = []
    yc = crawler(yt, session, yt.credentials("ytapi", count=1), ONLY["ytapi"], on_call=calls.append)
    channel = await yc.channel(channel_id=facts.channel_id)
    listed = await yc.channel_videos(facts.channel_id, max_videos=10)
    (token,) = _issued_tokens(yt)
    raws = [*channel.raw, *listed.raw]
    assert "oauth_token" not in {r.kind for r in raws}
    _assert_absent(token, raws)
    refresh = yt.secrets("ytapi", count=1)["ytapi"][0]
    for value in (refresh["refresh_token"], refresh["client_secret"]):
        _assert_absent(value, raws)
    assert any(c.kind == "oauth_token" for c in calls)
    for call in calls:
        text = str(call)
        assert token not in text and refresh["refresh_token"] not in text
        assert refresh["client_secret"] not in text


async def test_a_token_revoked_early_is_refreshed_once_and_retried(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    channel_id = world_data.channel_id_for(handle_with(1))
    yc = crawler(yt, session, yt.credentials("ytapi", count=1), ONLY["ytapi"])
    await yc.channel(channel_id=channel_id)
    yt.world.grants.clear()  # Google forgot the token
    result = await yc.channel(channel_id=channel_id)
    assert result.provider == "ytapi"
    assert yc.token_refreshes == 2
    assert [r.status for r in result.raw] == [200]


async def test_tokens_are_refreshed_when_they_expire(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    channel_id = world_data.channel_id_for(handle_with(1))
    now = [0.0]
    yc = crawler(yt, session, yt.credentials("ytapi", count=1), ONLY["ytapi"], clock=lambda: now[0])
    await yc.channel(channel_id=channel_id)
    now[0] = 3000.0  # within the hour, before the safety margin
    await yc.channel(channel_id=channel_id)
    assert yc.token_refreshes == 1
    now[0] = 3599.0 - 30.0  # inside the last minute: refresh ahead of expiry
    await yc.channel(channel_id=channel_id)
    assert yc.token_refreshes == 2


async def test_a_revoked_grant_kills_the_credential(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    revoked = {
        **yt.secrets("ytapi", count=1)["ytapi"][0],
        "refresh_token": world_data.EXPIRED_KEYS["ytapi"],
    }
    creds = StaticCredentials.from_secrets({"ytapi": [revoked]})
    yc = crawler(yt, session, creds, ONLY["ytapi"])
    with pytest.raises(NoProviderAvailable) as info:
        await yc.channel(channel_id=world_data.channel_id_for(handle_with(1)))
    ((name, reason),) = info.value.attempts
    assert name == "ytapi" and "CredentialRejected" in reason and "invalid_grant" in reason
    assert creds.is_dead(Credential("ytapi-0", "ytapi", {}))
    _assert_error_clean(info.value, [revoked["refresh_token"], revoked["client_secret"]])


async def test_tokens_rejected_twice_surface_without_the_token(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    yt.world.honour_tokens = False  # Google rejects every access token it issued
    yc = crawler(yt, session, yt.credentials("ytapi", count=1), ONLY["ytapi"])
    with pytest.raises(NoProviderAvailable) as info:
        await yc.channel(channel_id=world_data.channel_id_for(handle_with(1)))
    assert yc.token_refreshes == 2
    assert "CredentialRejected" in info.value.attempts[0][1]
    _assert_error_clean(info.value, _issued_tokens(yt))


def _assert_error_clean(error: ProviderError, secrets: Iterable[str]) -> None:
    texts = [str(error), repr(error), *(str(e) for e in getattr(error, "errors", []))]
    texts += [reason for _, reason in getattr(error, "attempts", [])]
    for secret in secrets:
        for text in texts:
            assert secret not in text
