"""The read side of the API: what the original's clients read, from the stored tables, in the
original's JSON names.

Queries run on the app database (sync SQLAlchemy, called from a thread by the handlers); the
views are pure functions from rows to the answer shapes, so the contract lives in one place:

* a profile: platform, handle, fbid, profile_id, profile_pic_url, biography, following,
  followers, full_name, is_private, media_count, updated_at, recent_posts, post_metrics, and
  the YouTube names (channel_id, title, subscribers, uploads, views, thumbnail), null where a
  platform has no such field;
* a post: shortcode, post_id, post_type, post_url, publish_time,
  metrics {reach, views, engagement_rate, likes, play_count},
  dimensions {caption, comments, thumbnail_url, display_url}.

YouTube channels are read from ``youtube_account`` (written by the youtube family's batches);
without the row, the answer is "not found".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from beat.intake.post_metrics import (
    RECENT_PER_KIND,
    REELS_TYPE,
    STATIC_TYPES,
    engagement_rate,
    estimated_reach,
    post_metrics,
)
from beat.store.models import asset_log, instagram_account, instagram_post
from beat.store.models_youtube import youtube_account

Row = dict[str, Any]

POST_URL_PREFIXES = {
    "image": "https://www.instagram.com/p/",
    "carousel": "https://www.instagram.com/p/",
    "reels": "https://www.instagram.com/reel/",
}
#: Provider placeholders the original treated as "no URL".
_NO_URL = {"", " ", "None"}


class ReadStore:
    """The API's queries. ``asset_base_url``, when set, is prefixed to stored media keys so a
    post's thumbnail points at our copy (the original's CloudFront domain)."""

    def __init__(self, engine: Engine, *, asset_base_url: str | None = None) -> None:
        self.engine = engine
        self.asset_base_url = asset_base_url.rstrip("/") + "/" if asset_base_url else None

    # -- Instagram ----------------------------------------------------------------------------

    def instagram_account(
        self, *, handle: str | None = None, profile_id: str | None = None
    ) -> Row | None:
        with self.engine.connect() as conn:
            return _account(conn, handle, profile_id)

    def instagram_profile(
        self, *, handle: str | None = None, profile_id: str | None = None
    ) -> tuple[Row, list[Row]] | None:
        """The account and its recent posts, on one connection (one trip to a thread)."""
        with self.engine.connect() as conn:
            account = _account(conn, handle, profile_id)
            if account is None:
                return None
            return account, self._profile_posts(conn, account["profile_id"])

    def profile_posts(self, profile_id: str) -> list[Row]:
        with self.engine.connect() as conn:
            return self._profile_posts(conn, profile_id)

    def _profile_posts(self, conn: Connection, profile_id: str) -> list[Row]:
        """The original's recent posts for post_metrics: the latest 12 reels with a play count,
        then the latest 12 static posts."""
        p = instagram_post.c
        newest = (p.publish_time.desc().nulls_last(), p.id.desc())
        reels = (
            select(instagram_post)
            .where(p.profile_id == profile_id, p.post_type == REELS_TYPE, p.plays >= 0)
            .order_by(*newest)
            .limit(RECENT_PER_KIND)
        )
        static = (
            select(instagram_post)
            .where(p.profile_id == profile_id, p.post_type.in_(sorted(STATIC_TYPES)))
            .order_by(*newest)
            .limit(RECENT_PER_KIND)
        )
        rows = [*conn.execute(reels).mappings(), *conn.execute(static).mappings()]
        return self._with_assets(conn, rows)

    def recent_posts(self, profile_id: str) -> list[Row]:
        """The original's recent-posts endpoint: the latest 12 posts with a thumbnail, stories
        left out."""
        p = instagram_post.c
        query = (
            select(instagram_post)
            .where(
                p.profile_id == profile_id,
                p.post_type != "story",
                p.thumbnail_url.is_not(None),
                p.thumbnail_url.not_in(sorted(_NO_URL)),
            )
            .order_by(p.publish_time.desc().nulls_last(), p.id.desc())
            .limit(RECENT_PER_KIND)
        )
        with self.engine.connect() as conn:
            return self._with_assets(conn, list(conn.execute(query).mappings()))

    def post(self, shortcode: str) -> Row | None:
        query = select(instagram_post).where(instagram_post.c.shortcode == shortcode)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
            return self._with_assets(conn, [row])[0] if row is not None else None

    def _with_assets(self, conn: Any, rows: Sequence[Any]) -> list[Row]:
        """Rows as dicts, with ``asset_url`` (our stored copy) when the media is stored."""
        found: dict[str, str] = {}
        if self.asset_base_url and rows:
            query = select(asset_log.c.entity_id, asset_log.c.asset_url).where(
                asset_log.c.entity_id.in_([r["shortcode"] for r in rows])
            )
            found = {entity: url for entity, url in conn.execute(query) if url}
        return [
            {**row, "asset_url": self.asset_base_url + found[row["shortcode"]]}
            if row["shortcode"] in found and self.asset_base_url
            else dict(row)
            for row in rows
        ]

    # -- YouTube ------------------------------------------------------------------------------

    def youtube_channel(
        self, *, channel_id: str | None = None, handle: str | None = None
    ) -> Row | None:
        """A stored channel by id or by handle (with or without its ``@``; YouTube handles
        are case-insensitive and stored lower case)."""
        table = youtube_account
        if channel_id is not None:
            condition = table.c.channel_id == channel_id
        elif handle is not None:
            condition = table.c.handle == handle.lstrip("@").lower()
        else:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(condition).limit(1)).mappings().first()
        return dict(row) if row is not None else None


def _account(conn: Connection, handle: str | None, profile_id: str | None) -> Row | None:
    a = instagram_account.c
    condition = a.handle == handle if handle is not None else a.profile_id == profile_id
    query = (
        select(instagram_account)
        .where(condition)
        .order_by(a.refreshed_at.desc().nulls_last())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


# -- views (pure) -----------------------------------------------------------------------------


def observed_at(row: Row) -> datetime | None:
    """When the row's data was last fetched (the original's ``updated_at``)."""
    return row.get("refreshed_at") or row.get("updated_at")


def post_view(row: Row, account: Row | None) -> dict[str, Any]:
    followers = account.get("followers") if account else None
    post_type = row.get("post_type")
    reach = estimated_reach(
        post_type,
        reach=row.get("reach"),
        likes=row.get("likes"),
        plays=row.get("plays"),
        followers=followers,
    )
    return {
        "shortcode": row["shortcode"],
        "post_id": row.get("post_id"),
        "post_type": post_type,
        "post_url": POST_URL_PREFIXES.get(post_type or "", "https://www.instagram.com/p/")
        + row["shortcode"],
        "publish_time": row.get("publish_time"),
        "metrics": {
            "reach": reach,
            "views": row.get("views"),
            "engagement_rate": engagement_rate(row.get("likes"), row.get("comments"), followers),
            "likes": row.get("likes"),
            "play_count": row.get("plays"),
        },
        "dimensions": {
            "caption": row.get("caption"),
            "comments": row.get("comments"),
            "thumbnail_url": row.get("asset_url") or _url(row.get("thumbnail_url")),
            "display_url": _url(row.get("display_url")),
        },
    }


def instagram_profile_view(account: Row, posts: Sequence[Row]) -> dict[str, Any]:
    recent = [post_view(row, account) for row in posts]
    return {
        **_EMPTY_PROFILE,
        "platform": "INSTAGRAM",
        "handle": account.get("handle"),
        "fbid": account.get("fbid"),
        "profile_id": account["profile_id"],
        "profile_pic_url": account.get("profile_pic_url"),
        "biography": account.get("biography"),
        "following": account.get("following"),
        "followers": account.get("followers"),
        "full_name": account.get("full_name"),
        "is_private": account.get("is_private"),
        "media_count": account.get("media_count"),
        "updated_at": observed_at(account),
        "recent_posts": recent,
        "post_metrics": post_metrics(account.get("followers"), recent),
    }


def youtube_profile_view(channel: Row) -> dict[str, Any]:
    """The original's YouTube fields, and the shared names filled where they mean the same."""
    handle = channel.get("handle")
    return {
        **_EMPTY_PROFILE,
        "platform": "YOUTUBE",
        "handle": handle,
        "profile_id": channel["channel_id"],
        "profile_pic_url": channel.get("thumbnail"),
        "biography": channel.get("description"),
        "followers": channel.get("subscribers"),
        "full_name": channel.get("title"),
        "media_count": channel.get("uploads"),
        "updated_at": observed_at(channel),
        "channel_id": channel["channel_id"],
        "title": channel.get("title"),
        "subscribers": channel.get("subscribers"),
        "uploads": channel.get("uploads"),
        "views": channel.get("views"),
        "thumbnail": channel.get("thumbnail"),
        "post_metrics": post_metrics(None, []),
    }


def request_log_view(record: Any) -> dict[str, Any]:
    """``GET /scrape_request_log/flow/{id}``'s ``post`` object, as the original named it."""
    return {
        "scrape_id": record.id,
        "data": record.data,
        "status": record.status,
        "params": record.params,
        "created_at": record.created_at,
        "flow": record.flow,
        "scraped_at": record.scraped_at,
        "platform": record.platform,
    }


def _url(value: Any) -> str | None:
    return None if value is None or str(value) in _NO_URL else str(value)


_EMPTY_PROFILE: dict[str, Any] = dict.fromkeys(
    (
        "platform", "handle", "fbid", "profile_id", "profile_pic_url", "biography", "following",
        "followers", "full_name", "is_private", "media_count", "updated_at", "recent_posts",
        "post_metrics", "channel_id", "title", "subscribers", "uploads", "views", "thumbnail",
    )
)  # fmt: skip
_EMPTY_PROFILE["recent_posts"] = []
