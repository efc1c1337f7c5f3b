"""JoTucker's listings beyond followers: following, post likers, post comments.

Instagram's web GraphQL connections passed through (``count``, ``page_info{has_next_page,
end_cursor}``, ``edges[].node``), as the followers route answers; every account listed is
deterministic per (target, index), so a test knows exactly what a full listing holds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox import data
from sandbox.gate import Gate
from sandbox.instagram_rapid import (
    _FAN_WORDS,
    _JT_NOT_FOUND,
    _JT_PRIVATE,
    FOLLOWERS_PAGE,
    MAX_FOLLOWERS_PAGE,
    _facts_by_pk,
    _offset,
    _page_size,
    _post_facts,
    _remember,
    _reply,
    _reply_body,
    _state,
    _web_follower,
)

#: Instagram's web client pages comments by 12 or so; the sandbox answers 20 at a time.
COMMENTS_PAGE = 20
_WORDS = ("love", "this", "so", "good", "wow", "need", "recipe", "amazing", "when", "where")
_NO_POST = {"data": {"shortcode_media": None}, "status": "ok"}


def listed_handle(kind: str, target: str, index: int) -> str:
    """The ``index``-th account of ``target``'s ``kind`` listing (followed, liker, commenter)."""
    rng = random.Random(f"beat-sandbox-{kind}:{target}:{index}")
    return f"{rng.choice(_FAN_WORDS)}.{kind[:3]}.{rng.choice(_FAN_WORDS)}{index}"


def _accounts(
    request: web.Request, kind: str, target: str, total: int, offset: int, size: int
) -> list[data.ProfileFacts]:
    reference = _state(request).reference()
    found = []
    for i in range(offset, min(total, offset + size)):
        facts = data.facts_for(listed_handle(kind, target, i), reference)
        if facts is not None:
            _remember(request, facts)
            found.append(facts)
    return found


def _connection(
    edges: list[dict[str, Any]], total: int, prefix: str, offset: int, size: int
) -> dict[str, Any]:
    nxt = offset + size if offset + size < total else None
    return {
        "count": total,
        "page_info": {
            "has_next_page": nxt is not None,
            "end_cursor": data.encode_cursor(prefix, nxt) if nxt is not None else None,
        },
        "edges": edges,
    }


def _bad_cursor(request: web.Request, g: Gate) -> web.Response:
    return _reply(request, g, {"message": "Invalid end_cursor", "status": "fail"}, 400)


def jotucker_followings(request: web.Request, g: Gate) -> web.Response:
    facts = _facts_by_pk(request, request.query.get("user_id", ""))
    if facts is None:
        return _reply(request, g, _JT_NOT_FOUND, 404)
    if facts.is_private:
        return _reply(request, g, _JT_PRIVATE, 403)
    offset = _offset("jg", request.query.get("end_cursor"))
    if offset is None:
        return _bad_cursor(request, g)
    size = _page_size(request.query.get("batch_size"), FOLLOWERS_PAGE, MAX_FOLLOWERS_PAGE)
    listed = _accounts(request, "following", facts.handle, facts.following, offset, size)
    edges = [_web_follower(f) for f in listed]
    connection = _connection(edges, facts.following, "jg", offset, size)
    return _reply(request, g, {"data": {"user": {"edge_follow": connection}}, "status": "ok"})


def _post_listing(
    request: web.Request,
    g: Gate,
    prefix: str,
    default_size: int,
    render: Callable[[data.ProfileFacts, data.PostFacts, int, int], dict[str, Any]],
) -> web.Response:
    found = _post_facts(request, request.query.get("short_code", ""))
    if found is None:
        return _reply(request, g, _NO_POST)
    owner, post = found
    if owner.is_private:
        return _reply(request, g, _JT_PRIVATE, 403)
    offset = _offset(prefix, request.query.get("end_cursor"))
    if offset is None:
        return _bad_cursor(request, g)
    size = _page_size(request.query.get("batch_size"), default_size, MAX_FOLLOWERS_PAGE)
    media = {"id": post.post_id, "shortcode": post.shortcode, **render(owner, post, offset, size)}
    body = data.dumps({"data": {"shortcode_media": media}, "status": "ok"})
    return _reply_body(request, g, body)


def jotucker_media_likers(request: web.Request, g: Gate) -> web.Response:
    def render(owner: data.ProfileFacts, post: data.PostFacts, offset: int, size: int) -> Any:
        listed = _accounts(request, "liker", post.shortcode, post.likes, offset, size)
        edges = [_web_follower(f) for f in listed]
        return {"edge_liked_by": _connection(edges, post.likes, "jl", offset, size)}

    return _post_listing(request, g, "jl", FOLLOWERS_PAGE, render)


def comment_node(post: data.PostFacts, index: int, author: data.ProfileFacts) -> dict[str, Any]:
    rng = random.Random(f"beat-sandbox-comment:{post.shortcode}:{index}")
    return {
        "node": {
            "id": str(18_000_000_000_000_000 + int(post.post_id) % 10**9 * 1000 + index),
            "text": " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 8))),
            "created_at": post.taken_at + 60 + index * 37,
            "did_report_as_spam": False,
            "owner": _web_follower(author)["node"],
            "viewer_has_liked": False,
            "edge_liked_by": {"count": rng.randint(0, 40)},
            "is_restricted_pending": False,
        }
    }


def jotucker_media_comments(request: web.Request, g: Gate) -> web.Response:
    def render(owner: data.ProfileFacts, post: data.PostFacts, offset: int, size: int) -> Any:
        authors = _accounts(request, "commenter", post.shortcode, post.comments, offset, size)
        edges = [comment_node(post, offset + i, a) for i, a in enumerate(authors)]
        return {"edge_media_to_parent_comment": _connection(
            edges, post.comments, "jc", offset, size
        )}  # fmt: skip

    return _post_listing(request, g, "jc", COMMENTS_PAGE, render)


JOTUCKER_ROUTES: list[tuple[str, str, Callable[[web.Request, Gate], web.Response]]] = [
    ("followings", "following_page", jotucker_followings),
    ("media_likers", "likes_page", jotucker_media_likers),
    ("media_comments", "comments_page", jotucker_media_comments),
]
