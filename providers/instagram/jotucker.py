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

Errors: the shared RapidAPI mapping (``{"message": ..., "status": "fail"}`` bodies).
"""

from __future__ import annotations

from typing import Any, ClassVar

from providers.credentials import Credential
from providers.errors import TargetNotFound
from providers.http import ProviderRequest, RawResponse
from providers.instagram.base import (
    FETCH_FOLLOWERS,
    FETCH_POST,
    FETCH_POSTS,
    FETCH_PROFILE,
    FollowersParse,
    InstagramProvider,
    PostsParse,
    ProfileParse,
    expect_dict,
    field_dict,
    load_json,
    opt_dict,
    try_json,
)
from providers.instagram.rapidapi import (
    rapidapi_error,
    rapidapi_headers,
    web_followers,
    web_post,
    web_profile,
    web_timeline,
)
from providers.model import InstagramPost, InstagramProfile

__all__ = ["RAPIDAPI_HOST", "JoTucker"]

RAPIDAPI_HOST = "instagram-scraper2.p.rapidapi.com"
POSTS_BATCH = 12
FOLLOWERS_BATCH = 50


class JoTucker(InstagramProvider):
    name: ClassVar[str] = "jotucker"
    supports: ClassVar[frozenset[str]] = frozenset(
        {FETCH_PROFILE, FETCH_POSTS, FETCH_POST, FETCH_FOLLOWERS}
    )
    # The web profile carries the first 12 posts and the cursor of the next page.
    profile_includes_posts: ClassVar[bool] = True

    # -- requests -----------------------------------------------------------------------------

    def _get(
        self, base_url: str, path: str, params: dict[str, str], credential: Credential
    ) -> ProviderRequest:
        return ProviderRequest(
            method="GET",
            url=f"{base_url.rstrip('/')}/{path}",
            params=params,
            headers=rapidapi_headers(credential, self.name, RAPIDAPI_HOST),
        )

    def profile_request(
        self, handle: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        return self._get(base_url, "user_info", {"user_name": handle}, credential)

    def _paged(self, profile: InstagramProfile, batch: int, cursor: str | None) -> dict[str, str]:
        params = {"user_id": profile.profile_id, "batch_size": str(batch)}
        if cursor:
            params["end_cursor"] = cursor
        return params

    def posts_request(
        self,
        profile: InstagramProfile,
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        return self._get(base_url, "medias", self._paged(profile, POSTS_BATCH, cursor), credential)

    def post_request(
        self, shortcode: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        return self._get(base_url, "media_info", {"short_code": shortcode}, credential)

    def followers_request(
        self,
        profile: InstagramProfile,
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        params = self._paged(profile, FOLLOWERS_BATCH, cursor)
        return self._get(base_url, "followers", params, credential)

    # -- parsers ------------------------------------------------------------------------------

    def _data(self, raw: RawResponse) -> dict[str, Any]:
        err = rapidapi_error(raw, try_json(raw))
        if err is not None:
            raise err
        return field_dict(expect_dict(load_json(raw), "body"), "data", "body")

    def _user(self, raw: RawResponse) -> dict[str, Any]:
        user = self._data(raw).get("user")
        if user is None:
            raise TargetNotFound("no such user")
        return expect_dict(user, "data.user")

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        user = self._user(raw)
        profile = web_profile(user, "data.user")
        timeline = opt_dict(user, "edge_owner_to_timeline_media", "data.user")
        if timeline is None:
            return profile, [], None
        posts, cursor = web_timeline(timeline, "data.user.edge_owner_to_timeline_media")
        posts = [p.with_owner(profile.profile_id, profile.handle) for p in posts]
        return profile, posts, cursor

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
