"""The sandbox over real HTTP: formats, paging, credentials, consistency between providers."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from sandbox import DEFAULT_GRAPH_TOKEN, DEFAULT_RAPIDAPI_KEY, RunningSandbox
from sandbox.data import facts_for

RAPID = {"x-rapidapi-key": DEFAULT_RAPIDAPI_KEY, "x-rapidapi-host": "h"}
MEDIA = "{id,username,comments_count,like_count,media_type,media_url,caption,timestamp,permalink}"


def _fields(handle: str, media: str = "media", full: bool = True) -> str:
    profile = (
        "id,ig_id,username,followers_count,follows_count,media_count,name" if full else "ig_id"
    )
    return f"business_discovery.username({handle}){{{profile},{media}{MEDIA}}}"


async def _graph(
    client: aiohttp.ClientSession,
    sb: RunningSandbox,
    fields: str,
    token: str | None = DEFAULT_GRAPH_TOKEN,
) -> tuple[int, dict[str, str], Any]:
    params = {"fields": fields}
    if token is not None:
        params["access_token"] = token
    async with client.get(f"{sb.graph_url}/v12.0/17841400000000001", params=params) as resp:
        return resp.status, dict(resp.headers), json.loads(await resp.read())


async def _bobo(
    client: aiohttp.ClientSession,
    sb: RunningSandbox,
    path: str,
    params: dict[str, str],
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    async with client.get(
        f"{sb.arraybobo_url}/ig/{path}/",
        params=params,
        headers=RAPID if headers is None else headers,
    ) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def test_graph_profile_and_paging(sb: RunningSandbox, client: aiohttp.ClientSession) -> None:
    facts = facts_for("paging.test", sb.state.reference())
    assert facts is not None
    status, _, body = await _graph(client, sb, _fields("paging.test"))
    assert status == 200
    bd = body["business_discovery"]
    assert bd["ig_id"] == int(facts.pk)
    assert bd["followers_count"] == facts.followers
    assert bd["media_count"] == facts.media_count
    assert body["id"] == "17841400000000001"
    seen = [m["permalink"].rstrip("/").rsplit("/", 1)[1] for m in bd["media"]["data"]]
    assert len(seen) == min(25, facts.media_count)
    paging = bd["media"]["paging"]
    # Like Graph, the sandbox sends only cursors.after on this edge: no next link to follow.
    assert "next" not in paging
    while "after" in paging.get("cursors", {}):
        after = paging["cursors"]["after"]
        status, _, page = await _graph(
            client, sb, _fields("paging.test", f"media.after({after}).limit(25)", full=False)
        )
        assert status == 200
        assert "followers_count" not in page["business_discovery"]
        media = page["business_discovery"]["media"]
        assert len(media["data"]) <= 25
        seen += [m["permalink"].rstrip("/").rsplit("/", 1)[1] for m in media["data"]]
        paging = media.get("paging", {})
    assert seen == [p.shortcode for p in facts.posts]


async def test_graph_limit_and_videos(sb: RunningSandbox, client: aiohttp.ClientSession) -> None:
    _, _, body = await _graph(client, sb, _fields("limit.test", "media.limit(5)"))
    data = body["business_discovery"]["media"]["data"]
    assert len(data) == 5
    facts = facts_for("limit.test", sb.state.reference())
    assert facts is not None
    _, _, body = await _graph(client, sb, _fields("limit.test", "media.limit(100)"))
    items = body["business_discovery"]["media"]["data"]
    videos = [m for m in items if m["media_type"] == "VIDEO"]
    assert all("thumbnail_url" in v for v in videos)
    licensed = [p for p in facts.posts if p.licensed_audio]
    assert sum("media_url" not in v for v in videos) == len(licensed)


async def test_graph_errors(sb: RunningSandbox, client: aiohttp.ClientSession) -> None:
    status, _, body = await _graph(client, sb, _fields("missing_person"))
    assert status == 400
    assert (body["error"]["code"], body["error"]["error_subcode"]) == (110, 2207013)
    status, _, body = await _graph(client, sb, _fields("private_person"))
    assert status == 400 and body["error"]["code"] == 100
    assert "business or creator" in body["error"]["error_user_msg"]
    status, _, body = await _graph(client, sb, _fields("alice"), token="wrong")
    assert status == 400 and body["error"]["code"] == 190
    status, _, body = await _graph(client, sb, _fields("alice"), token=None)
    assert body["error"]["code"] == 190
    status, _, body = await _graph(client, sb, _fields("alice", "media.after(@@bad@@)"))
    assert status == 400 and body["error"]["code"] == 100
    status, _, body = await _graph(client, sb, "id,name")
    assert status == 200 and body == {"id": "17841400000000001"}


async def test_arraybobo_profile_posts_and_post(
    sb: RunningSandbox, client: aiohttp.ClientSession
) -> None:
    facts = facts_for("paging.test", sb.state.reference())
    assert facts is not None
    status, headers, body = await _bobo(client, sb, "info_username", {"user": "paging.test"})
    assert status == 200
    assert headers["x-ratelimit-requests-limit"] == "1000"
    user = json.loads(body)["user"]
    assert (user["pk"], user["username"], user["follower_count"]) == (
        facts.pk,
        "paging.test",
        facts.followers,
    )
    assert user["account_type"] in (2, 3)
    assert user["interop_messaging_user_fbid"] == facts.fbid

    seen: list[str] = []
    params = {"id_user": facts.pk}
    while True:
        status, _, body = await _bobo(client, sb, "posts", params)
        assert status == 200
        timeline = json.loads(body)["data"]["user"]["edge_owner_to_timeline_media"]
        assert timeline["count"] == facts.media_count
        assert len(timeline["edges"]) <= 12
        seen += [e["node"]["shortcode"] for e in timeline["edges"]]
        if not timeline["page_info"]["has_next_page"]:
            assert timeline["page_info"]["end_cursor"] is None
            break
        params = {"id_user": facts.pk, "end_cursor": timeline["page_info"]["end_cursor"]}
    assert seen == [p.shortcode for p in facts.posts]

    for post in facts.posts[:3]:
        status, _, body = await _bobo(client, sb, "post_info", {"shortcode": post.shortcode})
        assert status == 200
        media = json.loads(body)["data"]["shortcode_media"]
        assert media["shortcode"] == post.shortcode
        assert media["owner"] == {
            "id": facts.pk,
            "username": "paging.test",
            "full_name": facts.full_name,
            "is_private": False,
            "is_verified": facts.is_verified,
            "profile_pic_url": facts.profile_pic_url,
        }
        assert media["edge_liked_by"]["count"] == post.likes


async def test_arraybobo_errors(sb: RunningSandbox, client: aiohttp.ClientSession) -> None:
    status, _, body = await _bobo(client, sb, "info_username", {"user": "alice"}, headers={})
    assert status == 401 and b"Invalid API key" in body
    bad = {"x-rapidapi-key": "nope"}
    status, _, body = await _bobo(client, sb, "info_username", {"user": "alice"}, headers=bad)
    assert status == 403 and json.loads(body) == {"message": "You are not subscribed to this API."}
    status, _, body = await _bobo(client, sb, "info_username", {"user": "missing_x"})
    assert status == 404 and json.loads(body)["message"] == "user not found"
    status, _, body = await _bobo(client, sb, "posts", {"id_user": "12345"})
    assert status == 404
    status, _, body = await _bobo(client, sb, "post_info", {"shortcode": "C7AbCdEfGhI"})
    assert status == 404 and json.loads(body)["status"] == "fail"

    _, _, body = await _bobo(client, sb, "info_username", {"user": "private_someone"})
    user = json.loads(body)["user"]
    assert user["is_private"] is True and user["account_type"] == 1
    status, _, body = await _bobo(client, sb, "posts", {"id_user": user["pk"]})
    assert status == 200 and "private" in json.loads(body)["message"]


async def test_both_providers_tell_the_same_facts(
    sb: RunningSandbox, client: aiohttp.ClientSession
) -> None:
    _, _, graph = await _graph(client, sb, _fields("same.facts", "media.limit(100)"))
    _, _, raw = await _bobo(client, sb, "info_username", {"user": "same.facts"})
    user = json.loads(raw)["user"]
    bd = graph["business_discovery"]
    assert str(bd["ig_id"]) == user["pk"]
    assert bd["id"] == user["interop_messaging_user_fbid"]
    assert (bd["followers_count"], bd["follows_count"], bd["media_count"]) == (
        user["follower_count"],
        user["following_count"],
        user["media_count"],
    )
    assert bd["name"] == user["full_name"] and bd["biography"] == user["biography"]
    nodes: list[dict[str, Any]] = []
    params = {"id_user": user["pk"]}
    while True:
        _, _, body = await _bobo(client, sb, "posts", params)
        timeline = json.loads(body)["data"]["user"]["edge_owner_to_timeline_media"]
        nodes += [e["node"] for e in timeline["edges"]]
        if not timeline["page_info"]["has_next_page"]:
            break
        params["end_cursor"] = timeline["page_info"]["end_cursor"]
    media = bd["media"]["data"]
    assert len(media) == len(nodes)
    for item, node in zip(media, nodes, strict=True):
        assert item["id"] == node["id"]
        assert item["like_count"] == node["edge_liked_by"]["count"]
        assert item["comments_count"] == node["edge_media_to_comment"]["count"]
        caption = node["edge_media_to_caption"]["edges"]
        assert item.get("caption") == (caption[0]["node"]["text"] if caption else None)


async def test_admin_index_and_health(sb: RunningSandbox, client: aiohttp.ClientSession) -> None:
    async with client.get(f"{sb.url}/") as resp:
        index = await resp.json()
    assert index["base_urls"] == sb.base_urls
    async with client.get(f"{sb.url}/_sandbox/health") as resp:
        assert (await resp.json())["ok"] is True
