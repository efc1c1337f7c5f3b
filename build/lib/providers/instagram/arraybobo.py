"""RapidAPI "instagram-scraper-2022" (ArrayBobo).

The credential secret IS the headers dict: ``{"x-rapidapi-key": ..., "x-rapidapi-host": ...}``.

* profile: ``GET {base}/ig/info_username/?user=h`` -> ``{"user": {...mobile API user...}}``
* posts:   ``GET {base}/ig/posts/?id_user=pk&end_cursor=c`` -> GraphQL timeline media
* post:    ``GET {base}/ig/post_info/?shortcode=s`` -> ``{"data": {"shortcode_media": {...}}}``

Errors follow the shared RapidAPI mapping (``rapidapi.rapidapi_error``); a bare
``{"status": "fail"}`` is this API's way of saying the target does not exist.
"""

from __future__ import annotations

from typing import Any, ClassVar

from providers.errors import MalformedResponse, ProviderError, TargetNotFound
from providers.http import RawResponse
from providers.instagram.base import (
    FETCH_POST,
    FETCH_POSTS,
    FETCH_PROFILE,
    PostsParse,
    ProfileParse,
    expect_dict,
    field_dict,
)
from providers.instagram.rapidapi import (
    Endpoint,
    RapidApiProvider,
    mobile_profile,
    rapidapi_error,
    web_post,
    web_timeline,
)
from providers.model import InstagramPost

__all__ = ["RAPIDAPI_HOST", "ArrayBobo", "arraybobo_error"]

RAPIDAPI_HOST = "instagram-scraper-2022.p.rapidapi.com"


def arraybobo_error(raw: RawResponse, payload: Any) -> ProviderError | None:
    """Map an answer to an error, or None when it looks like a success."""
    return rapidapi_error(raw, payload, fail_is_not_found=True)


class ArrayBobo(RapidApiProvider):
    name: ClassVar[str] = "arraybobo"
    host: ClassVar[str] = RAPIDAPI_HOST
    supports: ClassVar[frozenset[str]] = frozenset({FETCH_PROFILE, FETCH_POSTS, FETCH_POST})
    profile_includes_posts: ClassVar[bool] = False

    # -- requests (RapidApiProvider builds them from these endpoints) -------------------------

    profile_endpoint: ClassVar[Endpoint] = Endpoint("ig/info_username/", "user")
    posts_endpoint: ClassVar[Endpoint] = Endpoint("ig/posts/", "id_user", cursor="end_cursor")
    post_endpoint: ClassVar[Endpoint] = Endpoint("ig/post_info/", "shortcode")

    # -- parsers ------------------------------------------------------------------------------

    def _error(self, raw: RawResponse, payload: Any) -> ProviderError | None:
        return arraybobo_error(raw, payload)

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        payload = self._payload(raw)
        user = payload.get("user")
        if user is None and isinstance(payload.get("data"), dict):
            user = payload["data"].get("user")
        if user is None:
            raise MalformedResponse("body: missing object 'user'")
        return mobile_profile(expect_dict(user, "user"), "user"), [], None

    def _parse_posts(self, raw: RawResponse) -> PostsParse:
        payload = self._payload(raw)
        data = field_dict(payload, "data", "body")
        user = data.get("user")
        if user is None:
            raise TargetNotFound("posts: no such user")
        user = expect_dict(user, "data.user")
        timeline = field_dict(user, "edge_owner_to_timeline_media", "data.user")
        return web_timeline(timeline, "data.user.edge_owner_to_timeline_media")

    def _parse_post(self, raw: RawResponse) -> InstagramPost:
        payload = self._payload(raw)
        data = field_dict(payload, "data", "body")
        media = data.get("shortcode_media")
        if media is None:
            raise TargetNotFound("post not found")
        return web_post(expect_dict(media, "data.shortcode_media"), "data.shortcode_media")
