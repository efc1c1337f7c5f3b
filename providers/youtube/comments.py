"""A video's comments: the Data API's ``commentThreads.list`` (fetch_yt_post_comments).

``GET {base}/youtube/v3/commentThreads?part=snippet&videoId=&maxResults=100&order=time
&textFormat=plainText&pageToken=``: each item is a ``youtube#commentThread`` whose
``snippet.topLevelComment`` is the ``youtube#comment`` itself (author, text, likes, times);
``totalReplyCount`` counts its replies. A video with comments turned off answers 403
``commentsDisabled`` (no comments: not a fault); an unknown video 404 ``videoNotFound``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from providers.parsing import field_dict, from_iso, opt_bool, opt_count, opt_dict, opt_str, req_str

CAP_COMMENTS = "comments"
KIND_COMMENTS = "comment_threads"
#: commentThreads.list answers at most 100 threads a page.
COMMENTS_PAGE_SIZE = 100


@dataclass(frozen=True)
class YouTubeComment:
    """A top-level comment on a video."""

    comment_id: str
    video_id: str
    #: The channel the video belongs to.
    channel_id: str | None
    author_channel_id: str | None
    author_name: str | None
    text: str | None
    like_count: int | None
    reply_count: int | None
    is_public: bool | None
    published_at: datetime | None
    edited_at: datetime | None

    def metrics(self) -> list[dict[str, Any]]:
        pairs = {"likes": self.like_count, "replies": self.reply_count}
        return [{"key": k, "value": v} for k, v in pairs.items() if v is not None]

    def dimensions(self) -> list[dict[str, Any]]:
        # The original's comment dimensions: comment_id, text and handle (the author).
        pairs = {"comment_id": self.comment_id, "text": self.text, "handle": self.author_name}
        return [{"key": k, "value": v} for k, v in pairs.items() if v is not None]


#: A page of comments and the token of the next page.
CommentsPage = tuple[list[YouTubeComment], str | None]


def comment_from_thread(item: dict[str, Any], where: str) -> YouTubeComment:
    """A ``youtube#commentThread`` resource as its top-level comment."""
    snippet = field_dict(item, "snippet", where)
    s_where = f"{where}.snippet"
    top = field_dict(snippet, "topLevelComment", s_where)
    c_where = f"{s_where}.topLevelComment"
    comment = field_dict(top, "snippet", c_where)
    cs_where = f"{c_where}.snippet"
    author = opt_dict(comment, "authorChannelId", cs_where) or {}
    return YouTubeComment(
        comment_id=req_str(top, "id", c_where),
        video_id=req_str(snippet, "videoId", s_where),
        channel_id=opt_str(snippet, "channelId", s_where),
        author_channel_id=opt_str(author, "value", f"{cs_where}.authorChannelId"),
        author_name=opt_str(comment, "authorDisplayName", cs_where),
        # textOriginal is only sure to come back to the comment's author; textDisplay (plain,
        # as requested) to everyone.
        text=opt_str(comment, "textOriginal", cs_where)
        or opt_str(comment, "textDisplay", cs_where),
        like_count=opt_count(comment, "likeCount", cs_where),
        reply_count=opt_count(snippet, "totalReplyCount", s_where),
        is_public=opt_bool(snippet, "isPublic", s_where),
        published_at=from_iso(comment.get("publishedAt"), f"{cs_where}.publishedAt"),
        edited_at=from_iso(comment.get("updatedAt"), f"{cs_where}.updatedAt"),
    )


def comments_params(video_id: str, cursor: str | None) -> dict[str, str]:
    params = {
        "part": "snippet",
        "videoId": video_id,
        "maxResults": str(COMMENTS_PAGE_SIZE),
        "order": "time",
        "textFormat": "plainText",
    }
    if cursor:
        params["pageToken"] = cursor
    return params
