"""RapidAPI "instagram-scraper-2022" (ArrayBobo).

The credential secret IS the headers dict: ``{"x-rapidapi-key": ..., "x-rapidapi-host": ...}``.

* profile: ``GET {base}/ig/info_username/?user=h`` -> ``{"user": {...mobile API user...}}``
* posts:   ``GET {base}/ig/posts/?id_user=pk&end_cursor=c`` -> GraphQL timeline media
* post:    ``GET {base}/ig/post_info/?shortcode=s`` -> ``{"data": {"shortcode_media": {...}}}``
* tagged:  ``GET {base}/ig/tagged/?id_user=pk&end_cursor=c`` -> web GraphQL
  ``{"data": {"user": {"edge_user_to_photos_of_you": {count, page_info, edges}}}}``
* reels:   ``GET {base}/ig/reels/?id_user=pk&max_id=c`` -> Instagram's clips answer,
  ``{"items": [{"media": {...mobile item...}}], "paging_info": {"max_id", "more_available"}}``

Errors follow the shared RapidAPI mapping (``rapidapi.rapidapi_error``); a bare
``{"status": "fail"}`` is this API's way of saying the target does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from providers.errors import MalformedResponse, ProviderError, TargetNotFound
from providers.http import RawResponse
from providers.instagram.base import (
    FETCH_POST,
    FETCH_POSTS,
    FETCH_PROFILE,
    FETCH_REELS,
    FETCH_TAGGED,
    ListingParse,
    PostsParse,
    ProfileParse,
    expect_dict,
    field_dict,
    opt_bool,
    opt_dict,
    opt_list,
    opt_str,
)
from providers.instagram.rapidapi import (
    Endpoint,
    RapidApiProvider,
    mobile_post,
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
    supports: ClassVar[frozenset[str]] = frozenset(
        {FETCH_PROFILE, FETCH_POSTS, FETCH_POST, FETCH_REELS, FETCH_TAGGED}
    )
    profile_includes_posts: ClassVar[bool] = False

    # -- requests (RapidApiProvider builds them from these endpoints) -------------------------

    profile_endpoint: ClassVar[Endpoint] = Endpoint("ig/info_username/", "user")
    posts_endpoint: ClassVar[Endpoint] = Endpoint("ig/posts/", "id_user", cursor="end_cursor")
    post_endpoint: ClassVar[Endpoint] = Endpoint("ig/post_info/", "shortcode")
    listing_endpoints: ClassVar[Mapping[str, Endpoint]] = {
        FETCH_REELS: Endpoint("ig/reels/", "id_user", cursor="max_id"),
        FETCH_TAGGED: Endpoint("ig/tagged/", "id_user", cursor="end_cursor"),
    }

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

    def _parse_listing(self, listing: str, raw: RawResponse) -> ListingParse:
        if listing == FETCH_TAGGED:
            user = field_dict(self._payload(raw), "data", "body").get("user")
            if user is None:
                raise TargetNotFound("tagged: no such user")
            edge = "edge_user_to_photos_of_you"
            tagged = field_dict(expect_dict(user, "data.user"), edge, "data.user")
            return web_timeline(tagged, f"data.user.{edge}")
        if listing != FETCH_REELS:
            return super()._parse_listing(listing, raw)
        payload = self._payload(raw)
        if "items" not in payload:
            raise MalformedResponse("body: missing list 'items'")
        reels = []
        for i, item in enumerate(opt_list(payload, "items", "body")):
            where = f"items[{i}]"
            media = field_dict(expect_dict(item, where), "media", where)
            reels.append(mobile_post(media, f"{where}.media"))
        paging = opt_dict(payload, "paging_info", "body") or {}
        more = opt_bool(paging, "more_available", "paging_info")
        cursor = opt_str(paging, "max_id", "paging_info") if more else None
        return reels, cursor or None

    def _parse_post(self, raw: RawResponse) -> InstagramPost:
        payload = self._payload(raw)
        data = field_dict(payload, "data", "body")
        media = data.get("shortcode_media")
        if media is None:
            raise TargetNotFound("post not found")
        return web_post(expect_dict(media, "data.shortcode_media"), "data.shortcode_media")
