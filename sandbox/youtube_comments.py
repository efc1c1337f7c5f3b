"""The Data API's ``commentThreads.list`` (``GET /{ytapitoken,ytapi}/youtube/v3/commentThreads
?part=snippet&videoId=&maxResults=&order=time&pageToken=``), as Google answers it.

A video's comments are made up from its id (deterministic): as many as its ``commentCount``
(at most ``MAX_COMMENTS``), newest first, each by a catalogue channel. A video whose comment
count is hidden has comments turned off: 403 ``commentsDisabled``; an unknown video 404
``videoNotFound``; ``maxResults`` within 1..100 (default 20).
"""

from __future__ import annotations

import random
from typing import Any

from aiohttp import web

from sandbox.youtube import (
    CATALOGUE,
    VideoFacts,
    _b64,
    _bad_page_token,
    _digest,
    _etag,
    _iso,
    _list_body,
    _missing,
    _page_offset,
    _page_token,
    _reference,
    _seed,
    _world,
    channel_id_for,
    google_error,
)

PAGE_DEFAULT = 20
PAGE_MAX = 100
#: Comments a sandbox video has at most (its commentCount may say more).
MAX_COMMENTS = 250
_PHRASES = ("Great video!", "Thanks for this.", "Where is part two?", "Love it", "First!")


def comment_count(video: VideoFacts) -> int | None:
    """How many comments the sandbox serves for ``video``; None: comments turned off."""
    return None if video.comments is None else min(video.comments, MAX_COMMENTS)


def comment_id(video: VideoFacts, index: int) -> str:
    return "Ugz" + _b64(_digest(f"comment:{video.video_id}:{index}"))[:20] + "4AaABAg"


def _thread(video: VideoFacts, index: int, total: int) -> dict[str, Any]:
    """Comment ``index`` (0 = newest) of ``total`` on ``video``."""
    rng = random.Random(_seed(f"comment:{video.video_id}:{index}"))
    author = CATALOGUE[rng.randrange(len(CATALOGUE))]
    author_id = channel_id_for(author)
    # Spread over the time since publication, newest first.
    published = video.published_at + (total - index) * 600 + rng.randint(0, 599)
    text = f"{rng.choice(_PHRASES)} ({video.channel.topic})"
    ident = comment_id(video, index)
    snippet = {
        "channelId": video.channel.channel_id,
        "videoId": video.video_id,
        "textDisplay": text.replace("'", "&#39;"),
        "textOriginal": text,
        "authorDisplayName": "@" + author,
        "authorProfileImageUrl": f"https://yt3.ggpht.example/{author_id}=s48-c-k-c0x00ffffff-no-rj",
        "authorChannelUrl": f"http://www.youtube.com/channel/{author_id}",
        "authorChannelId": {"value": author_id},
        "canRate": True,
        "viewerRating": "none",
        "likeCount": rng.randint(0, 400),
        "publishedAt": _iso(published),
        "updatedAt": _iso(published + (rng.randint(60, 3600) if rng.random() < 0.1 else 0)),
    }
    return {
        "kind": "youtube#commentThread",
        "etag": _etag("thread", ident),
        "id": ident,
        "snippet": {
            "channelId": video.channel.channel_id,
            "videoId": video.video_id,
            "topLevelComment": {
                "kind": "youtube#comment",
                "etag": _etag("comment", ident),
                "id": ident,
                "snippet": snippet,
            },
            "canReply": True,
            "totalReplyCount": rng.choice((0, 0, 0, 1, 2, 5)),
            "isPublic": True,
        },
    }


def _page_size(request: web.Request) -> int | web.Response:
    text = request.query.get("maxResults")
    if text is None:
        return PAGE_DEFAULT
    if not text.isdigit() or not 1 <= int(text) <= PAGE_MAX:
        return google_error(
            400,
            "invalidParameter",
            f"Invalid value '{text[:20]}'. Values must be within the range: [1, 100]",
            domain="youtube.parameter",
            extra={"location": "maxResults", "locationType": "parameter"},
        )
    return int(text)


def comment_threads(request: web.Request) -> bytes | web.Response:
    video_id = request.query.get("videoId")
    if not video_id:
        return _missing("allThreadsRelatedToChannelId, id, videoId")
    size = _page_size(request)
    if isinstance(size, web.Response):
        return size
    video = _world(request).video(video_id, _reference(request))
    if video is None:
        return google_error(
            404,
            "videoNotFound",
            'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/list'
            '#videoId">videoId</a></code> parameter could not be found.',
            domain="youtube.commentThread",
            extra={"location": "videoId", "locationType": "parameter"},
        )
    total = comment_count(video)
    if total is None:
        return google_error(
            403,
            "commentsDisabled",
            'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/list'
            '#videoId">videoId</a></code> parameter has disabled comments.',
            domain="youtube.commentThread",
            extra={"location": "videoId", "locationType": "parameter"},
        )
    scope = "comments:" + video_id
    offset = _page_offset(scope, request.query.get("pageToken"))
    if offset is None:
        return _bad_page_token()
    end = min(total, offset + size)
    items = [_thread(video, i, total) for i in range(offset, end)]
    token = _page_token(scope, end) if end < total else None
    return _list_body("youtube#commentThreadListResponse", items, total, size, token)
