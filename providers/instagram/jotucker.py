"""RapidAPI "instagram-scraper2" (JoTucker): Instagram's web payloads, passed through.

The credential secret IS the headers dict: ``{"x-rapidapi-key": ..., "x-rapidapi-host": ...}``.

* profile:   ``GET {base}/user_info?user_name=h`` -> ``{"data": {"user": {...}}, "status": "ok"}``,
  the web ``web_profile_info`` user (``edge_followed_by.count``...) with its first timeline page
  (``edge_owner_to_timeline_media.edges`` + ``page_info.end_cursor``)
* posts:     ``GET {base}/medias?user_id=pk&batch_size=12&end_cursor=c`` ->
  ``{"data": {"user": {"edge_owner_to_timeline_media": {...}}}, "status": "ok"}``
* post:      ``GET {base}/media_info?short_code=s`` ->
  ``{"data": {"xdt_shortcode_media": {...}}, "status": "ok"}`` (older answers say
  ``shortcode_media``; ``null`` when the post is gone)
* followers: ``GET {base}/followers?user_id=pk&batch_size=50&end_cursor=c`` ->
  ``{"data": {"user": {"edge_followed_by": {"count", "page_info", "edges": [{"node": ...}]}}}}``
* following: ``GET {base}/followings?user_id=pk&batch_size=50&end_cursor=c`` -> the same with
  ``edge_follow``
* likes:     ``GET {base}/media_likers?short_code=s&batch_size=50&end_cursor=c`` ->
  ``{"data": {"shortcode_media": {"edge_liked_by": {...}}}}``
* comments:  ``GET {base}/media_comments?short_code=s&end_cursor=c`` ->
  ``{"data": {"shortcode_media": {"edge_media_to_parent_comment": {...}}}}``, nodes
  ``{id, text, created_at, owner{id, username, ...}, edge_liked_by{count}}``

The listings are Instagram's web GraphQL connections (``count``, ``page_info{has_next_page,
end_cursor}``, ``edges[].node``) passed through, as instaloader's structures read them.

Errors: the shared RapidAPI mapping (``{"message": ..., "status": "fail"}`` bodies).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from providers.errors import TargetNotFound
from providers.http import RawResponse
from providers.instagram.base import (
    FETCH_COMMENTS,
    FETCH_FOLLOWERS,
    FETCH_FOLLOWING,
    FETCH_LIKES,
    FETCH_POST,
    FETCH_POSTS,
    FETCH_PROFILE,
    FollowersParse,
    ListingParse,
    PostsParse,
    ProfileParse,
    expect_dict,
    field_dict,
)
from providers.instagram.rapidapi import (
    Endpoint,
    RapidApiProvider,
    web_comments,
    web_followers,
    web_post,
    web_profile_with_posts,
    web_timeline,
    web_user,
)
from providers.model import InstagramPost

__all__ = ["RAPIDAPI_HOST", "JoTucker"]

RAPIDAPI_HOST = "instagram-scraper2.p.rapidapi.com"
POSTS_BATCH = 12
FOLLOWERS_BATCH = 50


class JoTucker(RapidApiProvider):
    name: ClassVar[str] = "jotucker"
    host: ClassVar[str] = RAPIDAPI_HOST
    supports: ClassVar[frozenset[str]] = frozenset(
        {FETCH_PROFILE, FETCH_POSTS, FETCH_POST, FETCH_FOLLOWERS, FETCH_FOLLOWING, FETCH_LIKES,
         FETCH_COMMENTS}
    )  # fmt: skip
    # The web profile carries the first 12 posts and the cursor of the next page.
    profile_includes_posts: ClassVar[bool] = True

    # -- requests (RapidApiProvider builds them from these endpoints) -------------------------

    profile_endpoint: ClassVar[Endpoint] = Endpoint("user_info", "user_name")
    posts_endpoint: ClassVar[Endpoint] = Endpoint(
        "medias", "user_id", cursor="end_cursor", fixed={"batch_size": str(POSTS_BATCH)}
    )
    post_endpoint: ClassVar[Endpoint] = Endpoint("media_info", "short_code")
    followers_endpoint: ClassVar[Endpoint] = Endpoint(
        "followers", "user_id", cursor="end_cursor", fixed={"batch_size": str(FOLLOWERS_BATCH)}
    )
    listing_endpoints: ClassVar[Mapping[str, Endpoint]] = {
        FETCH_FOLLOWING: Endpoint(
            "followings", "user_id", cursor="end_cursor",
            fixed={"batch_size": str(FOLLOWERS_BATCH)},
        ),
        FETCH_LIKES: Endpoint(
            "media_likers", "short_code", cursor="end_cursor",
            fixed={"batch_size": str(FOLLOWERS_BATCH)},
        ),
        FETCH_COMMENTS: Endpoint("media_comments", "short_code", cursor="end_cursor"),
    }  # fmt: skip

    # -- parsers ------------------------------------------------------------------------------

    def _data(self, raw: RawResponse) -> dict[str, Any]:
        return field_dict(self._payload(raw), "data", "body")

    def _user(self, raw: RawResponse) -> dict[str, Any]:
        return web_user(self._data(raw), "data")

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        return web_profile_with_posts(self._user(raw), "data.user")

    def _parse_posts(self, raw: RawResponse) -> PostsParse:
        timeline = field_dict(self._user(raw), "edge_owner_to_timeline_media", "data.user")
        return web_timeline(timeline, "data.user.edge_owner_to_timeline_media")

    def _parse_post(self, raw: RawResponse) -> InstagramPost:
        data = self._data(raw)
        key = "xdt_shortcode_media" if "xdt_shortcode_media" in data else "shortcode_media"
        media = data.get(key)
        if media is None:
            raise TargetNotFound("post not found")
        return web_post(expect_dict(media, f"data.{key}"), f"data.{key}")

    def _parse_followers(self, raw: RawResponse) -> FollowersParse:
        followed_by = field_dict(self._user(raw), "edge_followed_by", "data.user")
        return web_followers(followed_by, "data.user.edge_followed_by")

    def _parse_listing(self, listing: str, raw: RawResponse) -> ListingParse:
        if listing == FETCH_FOLLOWING:
            follow = field_dict(self._user(raw), "edge_follow", "data.user")
            return web_followers(follow, "data.user.edge_follow")
        media = self._data(raw).get("shortcode_media")
        if media is None:
            raise TargetNotFound("post not found")
        where = "data.shortcode_media"
        media = expect_dict(media, where)
        if listing == FETCH_LIKES:
            return web_followers(
                field_dict(media, "edge_liked_by", where), f"{where}.edge_liked_by"
            )
        if listing == FETCH_COMMENTS:
            edge = "edge_media_to_parent_comment"
            return web_comments(field_dict(media, edge, where), f"{where}.{edge}")
        return super()._parse_listing(listing, raw)
