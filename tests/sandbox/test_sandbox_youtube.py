"""The emulated YouTube providers over real HTTP: data, paging, credentials, quotas, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sandbox import youtube as yt_data
from sandbox.state import Quota
from tests.providers.youtube.support import YouTubeSandbox, start_youtube_sandbox

KEY = yt_data.KEYS["ytapitoken"][0]
RAPID = {name: yt_data.KEYS[name][0] for name in yt_data.RAPIDAPI_HOSTS}


@pytest.fixture
async def ysb() -> AsyncIterator[YouTubeSandbox]:
    running = await start_youtube_sandbox(seed=11)
    try:
        yield running
    finally:
        await running.stop()


def catalogue_channel(at_least: int, at_most: int = 10_000) -> yt_data.ChannelFacts:
    for handle in yt_data.CATALOGUE:
        facts = yt_data.channel_facts(handle, 0)
        if facts is not None and at_least <= facts.video_count <= at_most:
            return facts
    raise AssertionError("no such channel")


async def get(
    client: aiohttp.ClientSession, url: str, *, headers: dict[str, str] | None = None, **params: str
) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with client.get(url, params=params, headers=headers) as resp:
        await resp.read()
        return resp.status, await _payload(resp), resp


async def _payload(resp: aiohttp.ClientResponse) -> Any:
    """The JSON body, or the raw bytes when it is not JSON (a malformed fault)."""
    body = await resp.read()
    try:
        return await resp.json(content_type=None)
    except ValueError:
        return body


async def data_api(
    client: aiohttp.ClientSession, ysb: YouTubeSandbox, resource: str, **params: str
) -> tuple[int, Any, aiohttp.ClientResponse]:
    query = {"key": KEY, **params}
    url = f"{ysb.url}/ytapitoken/youtube/v3/{resource}"
    async with client.get(url, params=query) as resp:
        await resp.read()
        return resp.status, await _payload(resp), resp


async def rapid(
    client: aiohttp.ClientSession, ysb: YouTubeSandbox, provider: str, path: str, **params: str
) -> tuple[int, Any, aiohttp.ClientResponse]:
    key = params.pop("_key", RAPID[provider])
    headers = {"x-rapidapi-key": key, "x-rapidapi-host": yt_data.RAPIDAPI_HOSTS[provider]}
    return await get(client, f"{ysb.url}/{provider}/{path}", headers=headers, **params)


# ------------------------------------------------------------------------------ the data


def test_data_is_deterministic() -> None:
    assert yt_data.channel_id_for("@Some.Body") == yt_data.channel_id_for("some.body")
    channel_id = yt_data.channel_id_for("some.body")
    assert channel_id.startswith("UC") and len(channel_id) == 24
    assert yt_data.channel_facts("ytcreator2", 86400 * 20000) == yt_data.channel_facts(
        "ytcreator2", 86400 * 20000
    )
    assert yt_data.is_missing("missing.channel")
    missing = [h for h in (f"h{i:03d}" for i in range(300)) if yt_data.is_missing(h)]
    assert 10 < len(missing) < 70  # about one in nine
    assert yt_data.channel_facts(missing[0], 0) is None


def test_video_ids_name_their_channel_and_position() -> None:
    facts = catalogue_channel(60)
    world = yt_data.YouTubeWorld()
    video = world.video(facts.video_id(42), 0)
    assert video is not None and (video.index, video.channel.channel_id) == (42, facts.channel_id)
    assert world.video(facts.video_id(facts.video_count), 0) is None
    newer, older = yt_data.video_facts(facts, 3), yt_data.video_facts(facts, 4)
    assert newer.published_at > older.published_at


def test_every_provider_registers_two_keys_and_an_expired_one(ysb: YouTubeSandbox) -> None:
    secrets = ysb.state.credential_secrets()
    expired = ysb.state.expired_credential_secrets()
    for name in yt_data.PROVIDERS:
        assert len(secrets[name]) == 2 and len(expired[name]) == 1, name
        assert ysb.state.providers[name].quota == yt_data.QUOTAS[name]
    assert secrets["ytapitoken"][0] == {"key": KEY}
    assert set(secrets["ytapi"][0]) == {"refresh_token", "channel_id", "client_id", "client_secret"}
    assert secrets["yt-search"][0]["x-rapidapi-host"] == "youtube-v311.p.rapidapi.com"
    assert yt_data.QUOTAS["ytapitoken"] == Quota(limit=10000, window_seconds=86400.0)


# ------------------------------------------------------------------------------ Data API


async def test_channels_by_handle_and_id(ysb: YouTubeSandbox) -> None:
    facts = catalogue_channel(1)
    async with aiohttp.ClientSession() as client:
        status, body, _ = await data_api(
            client,
            ysb,
            "channels",
            part="snippet,statistics,contentDetails",
            forHandle="@" + facts.handle,
        )
        assert status == 200 and body["kind"] == "youtube#channelListResponse"
        (item,) = body["items"]
        assert item["id"] == facts.channel_id
        assert item["snippet"]["customUrl"] == "@" + facts.handle
        assert item["contentDetails"]["relatedPlaylists"]["uploads"] == facts.uploads
        assert item["statistics"]["videoCount"] == str(facts.video_count)
        assert all(
            isinstance(v, str)
            for k, v in item["statistics"].items()
            if k != "hiddenSubscriberCount"
        )
        status, by_id, _ = await data_api(
            client, ysb, "channels", part="snippet", id=facts.channel_id
        )
        assert by_id["items"][0]["id"] == facts.channel_id
        status, none, _ = await data_api(
            client, ysb, "channels", part="snippet", id="UC" + "q" * 22
        )
        assert status == 200 and "items" not in none and none["pageInfo"]["totalResults"] == 0
        status, error, _ = await data_api(client, ysb, "channels", part="snippet")
        assert status == 400 and error["error"]["errors"][0]["reason"] == "missingRequiredParameter"


async def test_hidden_subscriber_counts_are_absent(ysb: YouTubeSandbox) -> None:
    hidden = next(
        f
        for f in (yt_data.channel_facts(h, 0) for h in yt_data.CATALOGUE)
        if f is not None and f.hidden_subscribers
    )
    async with aiohttp.ClientSession() as client:
        _, body, _ = await data_api(
            client, ysb, "channels", part="statistics", id=hidden.channel_id
        )
    stats = body["items"][0]["statistics"]
    assert stats["hiddenSubscriberCount"] is True and "subscriberCount" not in stats


async def test_uploads_page_with_page_tokens(ysb: YouTubeSandbox) -> None:
    facts = catalogue_channel(101)
    ids: list[str] = []
    token: str | None = None
    pages = 0
    async with aiohttp.ClientSession() as client:
        while True:
            params = {"part": "contentDetails", "playlistId": facts.uploads, "maxResults": "50"}
            if token:
                params["pageToken"] = token
            status, body, _ = await data_api(client, ysb, "playlistItems", **params)
            assert status == 200
            pages += 1
            ids += [item["contentDetails"]["videoId"] for item in body["items"]]
            token = body.get("nextPageToken")
            if token is None:
                break
        assert body["pageInfo"]["totalResults"] == facts.video_count
        assert ids == [facts.video_id(i) for i in range(facts.video_count)]
        assert pages == -(-facts.video_count // 50)
        status, default, _ = await data_api(client, ysb, "playlistItems", playlistId=facts.uploads)
        assert len(default["items"]) == 5  # the API's default page size
        status, bad, _ = await data_api(
            client, ysb, "playlistItems", playlistId=facts.uploads, pageToken="garbage"
        )
        assert status == 400 and bad["error"]["errors"][0]["reason"] == "invalidPageToken"
        status, gone, _ = await data_api(client, ysb, "playlistItems", playlistId="UU" + "z" * 22)
        assert status == 404 and gone["error"]["errors"][0]["reason"] == "playlistNotFound"
        status, _, _ = await data_api(
            client, ysb, "playlistItems", playlistId=facts.uploads, maxResults="51"
        )
        assert status == 400


async def test_videos_list(ysb: YouTubeSandbox) -> None:
    facts = catalogue_channel(60)
    ids = [facts.video_id(i) for i in range(3)]
    async with aiohttp.ClientSession() as client:
        status, body, _ = await data_api(
            client,
            ysb,
            "videos",
            part="snippet,statistics,contentDetails",
            id=",".join([*ids, "zzzzzzzzzzz"]),
        )
        assert status == 200 and [v["id"] for v in body["items"]] == ids
        first = body["items"][0]
        assert first["contentDetails"]["duration"].startswith("PT")
        assert first["snippet"]["channelId"] == facts.channel_id
        assert isinstance(first["statistics"]["viewCount"], str)
        status, _, _ = await data_api(client, ysb, "videos", id=",".join([ids[0]] * 51))
        assert status == 400


async def test_search_pages(ysb: YouTubeSandbox) -> None:
    async with aiohttp.ClientSession() as client:
        status, first, _ = await data_api(
            client, ysb, "search", part="snippet", q="chess", maxResults="50"
        )
        assert status == 200 and len(first["items"]) == 50
        assert first["items"][0]["id"]["kind"] == "youtube#video" and "snippet" in first["items"][0]
        status, second, _ = await data_api(
            client, ysb, "search", q="chess", maxResults="50", pageToken=first["nextPageToken"]
        )
        assert {i["id"]["videoId"] for i in first["items"]}.isdisjoint(
            {i["id"]["videoId"] for i in second["items"]}
        )
        _, again, _ = await data_api(client, ysb, "search", q="chess", maxResults="50")
        assert again["items"] == first["items"]


# ------------------------------------------------------------------------------ credentials


async def test_unknown_and_expired_keys_get_googles_answers(ysb: YouTubeSandbox) -> None:
    facts = catalogue_channel(1)
    async with aiohttp.ClientSession() as client:
        status, body, _ = await data_api(
            client, ysb, "channels", id=facts.channel_id, key="AIzaNope"
        )
        assert status == 400 and body["error"]["details"][0]["reason"] == "API_KEY_INVALID"
        assert "not valid" in body["error"]["message"]
        status, body, _ = await data_api(
            client, ysb, "channels", id=facts.channel_id, key=yt_data.EXPIRED_KEYS["ytapitoken"]
        )
        assert status == 400 and body["error"]["message"].startswith("API key expired")
        paths = {"youtube138": "channel/details/", "yt-v31": "channels", "yt-search": "search/"}
        for name, path in paths.items():
            status, body, resp = await rapid(client, ysb, name, path, _key="nope")
            assert status == 401, name
            assert resp.headers["X-RapidAPI-Proxy-Response"] == "true"
            status, body, _ = await rapid(client, ysb, name, path, _key=yt_data.EXPIRED_KEYS[name])
            assert status == 403 and "not subscribed" in body["message"]


async def test_oauth_refresh_and_bearer_calls(ysb: YouTubeSandbox) -> None:
    secret = ysb.state.credential_secrets()["ytapi"][0]
    facts = catalogue_channel(1)
    url = f"{ysb.url}/ytapi"
    form = {
        "grant_type": "refresh_token",
        **{k: secret[k] for k in ("refresh_token", "client_id", "client_secret")},
    }
    async with aiohttp.ClientSession() as client:
        async with client.post(f"{url}/token", data=form) as resp:
            token = await resp.json()
        assert resp.status == 200 and token["token_type"] == "Bearer"
        assert token["expires_in"] == yt_data.ACCESS_TOKEN_SECONDS
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        status, body, _ = await get(
            client,
            f"{url}/youtube/v3/channels",
            headers=bearer,
            part="snippet",
            id=facts.channel_id,
        )
        assert status == 200 and body["items"][0]["id"] == facts.channel_id
        status, body, _ = await get(
            client,
            f"{url}/youtube/v3/channels",
            headers={"Authorization": "Bearer ya29.forged"},
            id=facts.channel_id,
        )
        assert status == 401 and body["error"]["errors"][0]["reason"] == "authError"
        async with client.post(f"{url}/token", data={**form, "client_secret": "wrong"}) as resp:
            assert resp.status == 401 and (await resp.json())["error"] == "invalid_client"
        revoked = {**form, "refresh_token": yt_data.EXPIRED_KEYS["ytapi"]}
        async with client.post(f"{url}/token", data=revoked) as resp:
            assert resp.status == 400 and (await resp.json())["error"] == "invalid_grant"
    assert ysb.requests("ytapi", "oauth_token") == 3


# ------------------------------------------------------------------------------ quotas


async def test_a_spent_data_api_quota_answers_quota_exceeded(ysb: YouTubeSandbox) -> None:
    ysb.state.providers["ytapitoken"].quota = Quota(limit=2, window_seconds=86400.0)
    facts = catalogue_channel(1)
    async with aiohttp.ClientSession() as client:
        statuses = []
        for _ in range(3):
            status, body, _ = await data_api(client, ysb, "channels", id=facts.channel_id)
            statuses.append(status)
        other, _, _ = await data_api(
            client, ysb, "channels", id=facts.channel_id, key=yt_data.KEYS["ytapitoken"][1]
        )
    assert statuses == [200, 200, 403]
    (error,) = body["error"]["errors"]
    assert (error["domain"], error["reason"]) == ("youtube.quota", "quotaExceeded")
    assert other == 200  # quotas are per key


async def test_rapidapi_quotas_answer_429_with_rate_limit_headers(ysb: YouTubeSandbox) -> None:
    # A day-long window: a minute boundary between the requests cannot reset it mid-test.
    ysb.state.providers["youtube138"].quota = Quota(limit=2, window_seconds=86400.0)
    facts = catalogue_channel(1)
    async with aiohttp.ClientSession() as client:
        ok, _, ok_resp = await rapid(
            client, ysb, "youtube138", "channel/details/", id=facts.channel_id
        )
        assert ok == 200
        assert ok_resp.headers["x-ratelimit-requests-limit"] == "2"
        assert ok_resp.headers["x-ratelimit-requests-remaining"] == "1"
        await rapid(client, ysb, "youtube138", "channel/details/", id=facts.channel_id)
        status, body, resp = await rapid(
            client, ysb, "youtube138", "channel/details/", id=facts.channel_id
        )
        assert status == 429 and "rate limit per minute" in body["message"]
        assert resp.headers["x-ratelimit-requests-remaining"] == "0"
        assert 1 <= int(resp.headers["x-ratelimit-requests-reset"]) <= 86400
        # yt-search allows 3 a second: 8 quick requests span at most two windows, so one
        # window sees at least 4.
        statuses = [
            (await rapid(client, ysb, "yt-search", "search/", q="chess"))[0] for _ in range(8)
        ]
    assert statuses.count(200) >= 3 and 429 in statuses


# ------------------------------------------------------------------------------ RapidAPI routes


async def test_youtube138_routes(ysb: YouTubeSandbox) -> None:
    facts = catalogue_channel(61)
    async with aiohttp.ClientSession() as client:
        status, channel, _ = await rapid(
            client, ysb, "youtube138", "channel/details/", id=facts.channel_id
        )
        assert status == 200 and channel["username"] == "@" + facts.handle
        assert channel["stats"]["videos"] == facts.video_count
        ids: list[str] = []
        cursor = None
        while True:
            params = {"id": facts.channel_id, "filter": "videos_latest"}
            if cursor:
                params["cursor"] = cursor
            status, page, _ = await rapid(client, ysb, "youtube138", "channel/videos/", **params)
            assert status == 200
            ids += [c["video"]["videoId"] for c in page["contents"]]
            cursor = page["cursorNext"]
            if cursor is None:
                break
        assert ids == [facts.video_id(i) for i in range(facts.video_count)]
        status, video, _ = await rapid(client, ysb, "youtube138", "video/details/", id=ids[0])
        assert status == 200 and video["author"]["channelId"] == facts.channel_id
        status, missing, _ = await rapid(
            client, ysb, "youtube138", "channel/details/", id="UC" + "q" * 22
        )
        assert status == 404 and missing == {"message": "Channel not found"}
        status, _, _ = await rapid(
            client, ysb, "youtube138", "channel/videos/", id=facts.channel_id, cursor="4qmFsgKbogus"
        )
        assert status == 400


async def test_yt_v31_lists_a_channel_through_search(ysb: YouTubeSandbox) -> None:
    facts = catalogue_channel(51)
    async with aiohttp.ClientSession() as client:
        status, page, _ = await rapid(
            client,
            ysb,
            "yt-v31",
            "search",
            channelId=facts.channel_id,
            part="id",
            order="date",
            maxResults="50",
        )
        assert status == 200 and len(page["items"]) == 50 and "nextPageToken" in page
        assert page["items"][0] == {
            "kind": "youtube#searchResult",
            "etag": page["items"][0]["etag"],
            "id": {"kind": "youtube#video", "videoId": facts.video_id(0)},
        }
        status, empty, _ = await rapid(client, ysb, "yt-v31", "search", channelId="UC" + "q" * 22)
        assert status == 200 and empty["items"] == []


# ------------------------------------------------------------------------------ faults


async def test_faults_use_each_providers_own_shapes(ysb: YouTubeSandbox) -> None:
    facts = catalogue_channel(1)
    ysb.state.set_fault("ytapitoken", "server_error")
    ysb.state.set_fault("yt-v31", "rate_limit")
    ysb.state.set_fault("youtube138", "malformed")
    async with aiohttp.ClientSession() as client:
        status, body, _ = await data_api(client, ysb, "channels", id=facts.channel_id)
        assert status in (500, 503) and body["error"]["errors"][0]["reason"] == "backendError"
        status, body, resp = await rapid(client, ysb, "yt-v31", "channels", id=facts.channel_id)
        assert status == 429 and resp.headers["x-ratelimit-requests-reset"] == "1"
        status, body, _ = await rapid(
            client, ysb, "youtube138", "channel/details/", id=facts.channel_id
        )
        assert status == 200 and not isinstance(body, dict)
    ysb.state.set_fault("ytapitoken", "rate_limit")
    async with aiohttp.ClientSession() as client:
        status, body, _ = await data_api(client, ysb, "channels", id=facts.channel_id)
    # An injected burst limit is rateLimitExceeded, not the daily quota.
    assert status == 403 and body["error"]["errors"][0]["reason"] == "rateLimitExceeded"
