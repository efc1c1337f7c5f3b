"""JoTucker's ``hash_tag_medias?hash_tag=t&end_cursor=c``: Instagram's web tag page,
``{"data": {"hashtag": {"name", "edge_hashtag_to_media": {count, page_info, edges}}}}``.
A tag shows HASHTAG_POSTS posts of public sandbox accounts (the newest post of each),
HASHTAG_PAGE at a time; a tag starting with "none" does not exist (``hashtag`` null)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox import data, instagram_rapid
from sandbox.gate import Gate
from sandbox.graph_insights import number

HASHTAG_POSTS = 45
HASHTAG_PAGE = 20


def tag_owner_handles(tag: str) -> list[str]:
    """The accounts whose newest post the tag shows (tests recompute them)."""
    return [f"tagger.{number(tag, str(i), low=0, high=99999)}" for i in range(HASHTAG_POSTS)]


def _nodes(request: web.Request, tag: str) -> list[dict[str, Any]]:
    reference = instagram_rapid._state(request).reference()
    nodes = []
    for handle in tag_owner_handles(tag):
        facts = data.facts_for(handle, reference)
        if facts is None or facts.is_private or not facts.posts:
            continue
        instagram_rapid._remember(request, facts)
        nodes.append(data.arraybobo_node(facts, facts.posts[0], owner_detail=True))
    return nodes


def jotucker_hashtag(request: web.Request, g: Gate) -> web.Response:
    tag = request.query.get("hash_tag", "").strip().lstrip("#").lower()
    if not tag or tag.startswith("none"):
        return instagram_rapid._reply(request, g, {"data": {"hashtag": None}, "status": "ok"})
    offset = instagram_rapid._offset("ht", request.query.get("end_cursor"))
    if offset is None:
        bad = {"message": "Invalid end_cursor", "status": "fail"}
        return instagram_rapid._reply(request, g, bad, 400)
    nodes = _nodes(request, tag)
    window = nodes[offset : offset + HASHTAG_PAGE]
    end = offset + len(window)
    more = bool(window) and end < len(nodes)
    edge = {
        "count": len(nodes),
        "page_info": {
            "has_next_page": more,
            "end_cursor": data.encode_cursor("ht", end) if more else None,
        },
        "edges": [{"node": node} for node in window],
    }
    payload = {"data": {"hashtag": {"name": tag, "edge_hashtag_to_media": edge}}, "status": "ok"}
    return instagram_rapid._reply(request, g, payload)
