"""What the scraping APIs (RapidAPI's and their kin) have in common.

* Requests: the secret IS the HTTP headers dict (``{"x-rapidapi-key", "x-rapidapi-host"}``
  on RapidAPI, ``{"x-access-key"}`` for Lama, ``{"Authorization": "Token ..."}`` for Rocket);
  ``RapidApiProvider`` builds the GETs (``providers.rapidapi`` holds what YouTube shares too).
* Errors: RapidAPI's proxy answers some requests itself (bad key, not subscribed, quota, unknown
  endpoint) and marks them with ``X-RapidAPI-Proxy-Response: true``; those are never facts about
  the target. Behind it, each API words its errors its own way, so the mapping reads the usual
  message keys and a few telling words. Rate limits carry their wait in headers
  (``providers.cooling.cooling_seconds``).
* Payloads come in two Instagram naming families, and the readers here turn either into the
  model: the **web** family (``edge_followed_by.count``, GraphQL ``edges[].node``,
  ``page_info.end_cursor``) and the **mobile** family (``follower_count``, ``items[]`` with
  ``media_type`` 1/2/8, ``next_max_id``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from providers.cooling import cooling_seconds
from providers.credentials import Credential
from providers.errors import (
    CredentialRejected,
    MalformedResponse,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetPrivate,
)
from providers.http import ProviderRequest, RawResponse
from providers.instagram.base import (
    FollowersParse,
    InstagramProvider,
    PostsParse,
    ProfileParse,
    edge_count,
    expect_dict,
    field_dict,
    from_epoch,
    from_iso,
    opt_bool,
    opt_count,
    opt_dict,
    opt_id,
    opt_list,
    opt_str,
    req_id,
    req_str,
    to_int,
)
from providers.model import (
    InstagramComment,
    InstagramFollower,
    InstagramPost,
    InstagramProfile,
    PostType,
    ProfileType,
)
from providers.rapidapi import HeaderSecretAdapter, header_secret, rapidapi_headers, with_cursor

__all__ = [
    "Endpoint",
    "RapidApiProvider",
    "error_message",
    "header_secret",
    "is_proxy_response",
    "mobile_follower",
    "mobile_items",
    "mobile_next_max_id",
    "mobile_post",
    "mobile_profile",
    "rapidapi_error",
    "rapidapi_headers",
    "wait_seconds",
    "web_followers",
    "web_post",
    "web_profile",
    "web_profile_with_posts",
    "web_timeline",
    "web_user",
    "with_cursor",
]

PROXY_HEADER = "x-rapidapi-proxy-response"

_NOT_FOUND_WORDS = (
    "not found",
    "not exist",
    "doesn't exist",
    "no user",
    "no such",
    "invalid user",
)
_PRIVATE_WORDS = ("private", "not authorized to view user")
_RATE_WORDS = ("exceeded", "rate limit", "too many requests", "quota", "throttled")
_AUTH_WORDS = (
    "not subscribed",
    "invalid api key",
    "api key",
    "unauthorized",
    "blocked user",
    "access key",
    "invalid token",
)
_FAILED = ("fail", "failed", "error")


# --------------------------------------------------------------------------- errors


def error_message(payload: Any) -> str:
    """The error text of a JSON answer (``message``, ``error``, ``detail``...), or ``""``."""
    if not isinstance(payload, dict):
        return ""
    for key in ("message", "error", "detail", "msg", "reason"):
        value = payload.get(key)
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, str) and value:
            return value
    return ""


def wait_seconds(raw: RawResponse) -> float | None:
    """How long the provider asked us to wait, from its headers (None when it does not say).
    Header values are the provider's text: a value the reader chokes on says nothing."""
    try:
        return cooling_seconds(raw.headers)
    except (ValueError, TypeError, OverflowError, IndexError, AttributeError):
        return None


def is_proxy_response(raw: RawResponse) -> bool:
    """True when RapidAPI's proxy, not the API behind it, produced this answer."""
    return (raw.header(PROXY_HEADER) or "").strip().lower() == "true"


def _has(text: str, words: tuple[str, ...]) -> bool:
    return any(w in text for w in words)


def _proxy_error(raw: RawResponse, text: str, lower: str) -> ProviderError:
    # The proxy knows nothing about Instagram: its answers are about our key or the API.
    status = raw.status
    if status == 429:
        return RateLimited(text, status=status, retry_after=wait_seconds(raw))
    if status >= 500:
        return ProviderUnavailable(f"RapidAPI proxy: {text}", status=status)
    if status in (401, 403, 407) or _has(lower, _AUTH_WORDS):
        return CredentialRejected(text, status=status)
    if _has(lower, _RATE_WORDS):
        return RateLimited(text, status=status, retry_after=wait_seconds(raw))
    return ProviderUnavailable(f"RapidAPI proxy: {text}", status=status)


def _status_failed(payload: Any) -> bool:
    if not isinstance(payload, dict):
        return False
    failed = str(payload.get("status", "")).lower() in _FAILED
    return failed or payload.get("success") is False


def _body_error(
    raw: RawResponse, payload: Any, text: str, lower: str, fail_is_not_found: bool
) -> ProviderError | None:
    """2xx and the 4xx without a meaning of their own: the body's words decide."""
    status = raw.status
    if "endpoint" in lower:
        return ProviderUnavailable(text, status=status)
    if _has(lower, _PRIVATE_WORDS):
        return TargetPrivate(text, status=status)
    if _has(lower, _NOT_FOUND_WORDS):
        return TargetNotFound(text, status=status)
    if _has(lower, _RATE_WORDS):
        return RateLimited(text, status=status, retry_after=wait_seconds(raw))
    if _has(lower, _AUTH_WORDS):
        return CredentialRejected(text, status=status)
    if _status_failed(payload):
        if fail_is_not_found:
            return TargetNotFound(text, status=status)
        return ProviderUnavailable(text, status=status)
    if status >= 400:
        return ProviderUnavailable(text, status=status)
    return None


def rapidapi_error(
    raw: RawResponse, payload: Any, *, fail_is_not_found: bool = False
) -> ProviderError | None:
    """Map an answer to an error, or None when it looks like a success.

    ``payload`` is the decoded body (None when it is not JSON). ``fail_is_not_found``: the API
    answers a bare ``{"status": "fail"}`` for a missing target (ArrayBobo does); otherwise such
    an answer is the provider's fault.
    """
    status = raw.status
    message = error_message(payload)
    lower = message.lower()
    text = message or f"HTTP {status}"
    if status >= 400 and is_proxy_response(raw):
        return _proxy_error(raw, text, lower)
    if status == 429:
        return RateLimited(text, status=status, retry_after=wait_seconds(raw))
    if status in (401, 403):
        if _has(lower, _PRIVATE_WORDS):
            return TargetPrivate(text, status=status)
        return CredentialRejected(text, status=status)
    if status >= 500:
        return ProviderUnavailable(text, status=status)
    if status == 404:
        # A JSON answer from the API is about the target; anything else (a proxy or router
        # page, "Endpoint ... does not exist") is about our configuration or the provider.
        if not isinstance(payload, dict) or "endpoint" in lower:
            return ProviderUnavailable(f"HTTP 404 without a provider answer: {text}", status=status)
        return TargetNotFound(text, status=status)
    return _body_error(raw, payload, text, lower, fail_is_not_found)


# --------------------------------------------------------------------------- shared readers

_ACCOUNT_TYPES: dict[int, ProfileType] = {1: "personal", 2: "business", 3: "creator"}


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def _first_id(obj: dict[str, Any], keys: tuple[str, ...], where: str) -> str:
    for key in keys:
        value = opt_id(obj, key, where)
        if value is not None:
            return value
    raise MalformedResponse(f"{where}: missing id {keys[0]!r}")


def _first_str(obj: dict[str, Any], keys: tuple[str, ...], where: str) -> str | None:
    for key in keys:
        value = opt_str(obj, key, where)
        if value:
            return value
    return None


def _kind(
    profile_type: ProfileType | None,
) -> tuple[bool | None, ProfileType | None]:
    if profile_type is None:
        return None, None
    return profile_type in ("business", "creator"), profile_type


# --------------------------------------------------------------------------- web family

_TYPENAMES: dict[str, tuple[PostType, str]] = {
    "GraphImage": ("image", "IMAGE"),
    "GraphVideo": ("reels", "VIDEO"),
    "GraphSidecar": ("carousel", "CAROUSEL_ALBUM"),
    "XDTGraphImage": ("image", "IMAGE"),
    "XDTGraphVideo": ("reels", "VIDEO"),
    "XDTGraphSidecar": ("carousel", "CAROUSEL_ALBUM"),
}


def _web_profile_type(user: dict[str, Any], where: str) -> ProfileType | None:
    business = opt_bool(user, "is_business_account", where)
    professional = opt_bool(user, "is_professional_account", where)
    if business:
        return "business"
    if professional:
        return "creator"
    if business is False and professional is False:
        return "personal"
    return None


def web_profile(user: dict[str, Any], where: str) -> InstagramProfile:
    """A web-family user (``web_profile_info``'s ``data.user``)."""
    is_business_or_creator, profile_type = _kind(_web_profile_type(user, where))
    return InstagramProfile(
        profile_id=req_id(user, "id", where),
        handle=req_str(user, "username", where).lower(),
        full_name=opt_str(user, "full_name", where),
        biography=opt_str(user, "biography", where),
        followers=edge_count(user, "edge_followed_by", where),
        following=edge_count(user, "edge_follow", where),
        media_count=edge_count(user, "edge_owner_to_timeline_media", where),
        profile_pic_url=_first_str(user, ("profile_pic_url_hd", "profile_pic_url"), where),
        is_private=opt_bool(user, "is_private", where),
        is_verified=opt_bool(user, "is_verified", where),
        is_business_or_creator=is_business_or_creator,
        profile_type=profile_type,
        category=_first_str(user, ("category_name", "business_category_name"), where),
        category_id=opt_id(user, "category_id", where),
        fbid=opt_id(user, "fbid", where),
        external_url=opt_str(user, "external_url", where) or None,
    )


def _web_type(node: dict[str, Any], where: str) -> tuple[PostType, str]:
    typename = req_str(node, "__typename", where)
    known = _TYPENAMES.get(typename)
    if known is not None:
        return known
    is_video = opt_bool(node, "is_video", where)
    if is_video is None:
        raise MalformedResponse(f"{where}.__typename: unknown type {typename[:30]!r}")
    return ("reels", "VIDEO") if is_video else ("image", "IMAGE")


def _web_caption(node: dict[str, Any], where: str) -> str | None:
    captions = opt_dict(node, "edge_media_to_caption", where)
    if captions is None:
        return None
    edges = opt_list(captions, "edges", f"{where}.edge_media_to_caption")
    if not edges:
        return None
    first = expect_dict(edges[0], f"{where}.edge_media_to_caption.edges[0]")
    inner = field_dict(first, "node", f"{where}.edge_media_to_caption.edges[0]")
    return opt_str(inner, "text", f"{where}.edge_media_to_caption.edges[0].node")


def _first_count(node: dict[str, Any], edges: tuple[str, ...], where: str) -> int | None:
    for edge in edges:
        value = edge_count(node, edge, where)
        if value is not None:
            return value
    return None


def web_post(node: dict[str, Any], where: str) -> InstagramPost:
    """A GraphQL media node (timeline edge node or ``shortcode_media``)."""
    post_type, content_type = _web_type(node, where)
    owner = opt_dict(node, "owner", where)
    owner_id = opt_id(owner, "id", f"{where}.owner") if owner else None
    owner_name = opt_str(owner, "username", f"{where}.owner") if owner else None
    return InstagramPost(
        shortcode=req_str(node, "shortcode", where),
        post_id=opt_id(node, "id", where),
        profile_id=owner_id,
        handle=_lower(owner_name),
        post_type=post_type,
        content_type=content_type,
        caption=_web_caption(node, where),
        likes=_first_count(node, ("edge_liked_by", "edge_media_preview_like"), where),
        comments=_first_count(
            node,
            ("edge_media_to_comment", "edge_media_preview_comment", "edge_media_to_parent_comment"),
            where,
        ),
        views=opt_count(node, "video_view_count", where),
        plays=opt_count(node, "video_play_count", where),
        display_url=opt_str(node, "display_url", where),
        thumbnail_url=opt_str(node, "thumbnail_src", where),
        taken_at=from_epoch(node.get("taken_at_timestamp"), f"{where}.taken_at_timestamp"),
    )


def _end_cursor(connection: dict[str, Any], where: str) -> str | None:
    page_info = opt_dict(connection, "page_info", where)
    if page_info is None or not opt_bool(page_info, "has_next_page", f"{where}.page_info"):
        return None
    return opt_str(page_info, "end_cursor", f"{where}.page_info") or None


def _nodes(connection: dict[str, Any], where: str) -> list[tuple[dict[str, Any], str]]:
    out = []
    for i, edge in enumerate(opt_list(connection, "edges", where)):
        edge_where = f"{where}.edges[{i}]"
        node = field_dict(expect_dict(edge, edge_where), "node", edge_where)
        out.append((node, f"{edge_where}.node"))
    return out


def web_timeline(timeline: dict[str, Any], where: str) -> PostsParse:
    """``edge_owner_to_timeline_media``: its posts and the next ``end_cursor``."""
    posts = [web_post(node, node_where) for node, node_where in _nodes(timeline, where)]
    return posts, _end_cursor(timeline, where)


def web_user(data: dict[str, Any], where: str) -> dict[str, Any]:
    """``data.user`` of a web answer; the API says null for an account that does not exist."""
    user = data.get("user")
    if user is None:
        raise TargetNotFound("no such user")
    return expect_dict(user, f"{where}.user")


def web_profile_with_posts(user: dict[str, Any], where: str) -> ProfileParse:
    """A web user with the first timeline page it carries (its posts stamped with the owner,
    which a timeline inside the user leaves out) and that page's ``end_cursor``."""
    profile = web_profile(user, where)
    timeline = opt_dict(user, "edge_owner_to_timeline_media", where)
    if timeline is None:
        return profile, [], None
    posts, cursor = web_timeline(timeline, f"{where}.edge_owner_to_timeline_media")
    posts = [p.with_owner(profile.profile_id, profile.handle) for p in posts]
    return profile, posts, cursor


def _web_follower(node: dict[str, Any], where: str) -> InstagramFollower:
    return InstagramFollower(
        profile_id=req_id(node, "id", where),
        handle=req_str(node, "username", where).lower(),
        full_name=opt_str(node, "full_name", where),
        is_private=opt_bool(node, "is_private", where),
        is_verified=opt_bool(node, "is_verified", where),
        profile_pic_url=opt_str(node, "profile_pic_url", where),
    )


def web_followers(connection: dict[str, Any], where: str) -> FollowersParse:
    """``edge_followed_by`` / ``edge_follow`` / ``edge_liked_by``: the accounts listed and the
    next ``end_cursor``."""
    followers = [_web_follower(node, nw) for node, nw in _nodes(connection, where)]
    return followers, _end_cursor(connection, where)


def _web_comment(node: dict[str, Any], where: str) -> InstagramComment:
    owner = field_dict(node, "owner", where)
    return InstagramComment(
        comment_id=req_id(node, "id", where),
        text=opt_str(node, "text", where),
        owner=_web_follower(owner, f"{where}.owner"),
        created_at=from_epoch(node.get("created_at"), f"{where}.created_at"),
        likes=edge_count(node, "edge_liked_by", where),
    )


def web_comments(
    connection: dict[str, Any], where: str
) -> tuple[list[InstagramComment], str | None]:
    """``edge_media_to_parent_comment``: top-level comments and the next ``end_cursor``."""
    comments = [_web_comment(node, nw) for node, nw in _nodes(connection, where)]
    return comments, _end_cursor(connection, where)


# --------------------------------------------------------------------------- mobile family

_MEDIA_TYPES: dict[int, tuple[PostType, str]] = {
    1: ("image", "IMAGE"),
    2: ("reels", "VIDEO"),
    8: ("carousel", "CAROUSEL_ALBUM"),
}


def _mobile_profile_type(user: dict[str, Any], where: str) -> ProfileType | None:
    account_type = to_int(user.get("account_type"), f"{where}.account_type")
    if account_type is not None:
        return _ACCOUNT_TYPES.get(account_type)
    # Without account_type only "business" can be told apart; creators look personal.
    return "business" if opt_bool(user, "is_business", where) else None


def _hd_pic(user: dict[str, Any], where: str) -> str | None:
    info = opt_dict(user, "hd_profile_pic_url_info", where)
    if info is None:
        return None
    return opt_str(info, "url", f"{where}.hd_profile_pic_url_info")


def mobile_profile(user: dict[str, Any], where: str) -> InstagramProfile:
    """A mobile-family user (``users/usernameinfo``, instagrapi's ``User``)."""
    is_business_or_creator, profile_type = _kind(_mobile_profile_type(user, where))
    pic = _hd_pic(user, where) or _first_str(user, ("profile_pic_url_hd", "profile_pic_url"), where)
    return InstagramProfile(
        profile_id=_first_id(user, ("pk", "pk_id", "id"), where),
        handle=req_str(user, "username", where).lower(),
        full_name=opt_str(user, "full_name", where),
        biography=opt_str(user, "biography", where),
        followers=opt_count(user, "follower_count", where),
        following=opt_count(user, "following_count", where),
        media_count=opt_count(user, "media_count", where),
        profile_pic_url=pic,
        is_private=opt_bool(user, "is_private", where),
        is_verified=opt_bool(user, "is_verified", where),
        is_business_or_creator=is_business_or_creator,
        profile_type=profile_type,
        category=_first_str(user, ("category", "category_name"), where),
        category_id=opt_id(user, "category_id", where),
        fbid=opt_id(user, "interop_messaging_user_fbid", where) or opt_id(user, "fbid_v2", where),
        external_url=opt_str(user, "external_url", where) or None,
    )


def _mobile_type(item: dict[str, Any], where: str) -> tuple[PostType, str]:
    media_type = to_int(item.get("media_type"), f"{where}.media_type")
    known = _MEDIA_TYPES.get(media_type) if media_type is not None else None
    if known is None:
        raise MalformedResponse(f"{where}.media_type: unknown media type {media_type!r}")
    return known


def _mobile_caption(item: dict[str, Any], where: str) -> str | None:
    caption = item.get("caption")
    if isinstance(caption, dict):
        return opt_str(caption, "text", f"{where}.caption")
    if isinstance(caption, str):
        return caption
    if caption is not None:
        raise MalformedResponse(f"{where}.caption: expected an object")
    # instagrapi flattens it (and says "" for no caption)
    return opt_str(item, "caption_text", where) or None


def _candidates(item: dict[str, Any], where: str) -> list[str]:
    versions = opt_dict(item, "image_versions2", where)
    if versions is None:
        return []
    urls = []
    for i, candidate in enumerate(opt_list(versions, "candidates", f"{where}.image_versions2")):
        cw = f"{where}.image_versions2.candidates[{i}]"
        url = opt_str(expect_dict(candidate, cw), "url", cw)
        if url:
            urls.append(url)
    return urls


def _mobile_images(item: dict[str, Any], where: str) -> tuple[str | None, str | None]:
    """(display URL, thumbnail URL): the largest and smallest candidates; a carousel shows
    its first child's; instagrapi gives ``thumbnail_url`` instead."""
    urls = _candidates(item, where)
    if not urls:
        children = opt_list(item, "carousel_media", where)
        if children:
            cw = f"{where}.carousel_media[0]"
            urls = _candidates(expect_dict(children[0], cw), cw)
    thumbnail = opt_str(item, "thumbnail_url", where)
    if not urls:
        return thumbnail, thumbnail
    return urls[0], thumbnail or urls[-1]


def _taken_at(item: dict[str, Any], where: str) -> datetime | None:
    value = item.get("taken_at")
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        return from_iso(value, f"{where}.taken_at")  # instagrapi: ISO 8601
    return from_epoch(value, f"{where}.taken_at")


def _mobile_views(
    item: dict[str, Any], post_type: PostType, where: str
) -> tuple[int | None, int | None]:
    """(views, plays) of a video; instagrapi says 0 for photos, which means "none"."""
    views = opt_count(item, "view_count", where)
    plays = opt_count(item, "play_count", where)
    if plays is None:
        plays = opt_count(item, "ig_play_count", where)
    if post_type != "reels":
        return None, None
    return views, plays


def mobile_post(item: dict[str, Any], where: str) -> InstagramPost:
    """A mobile-family media item (``feed/user`` items, ``media/info``, instagrapi ``Media``)."""
    post_type, content_type = _mobile_type(item, where)
    user = opt_dict(item, "user", where)
    owner_id = _first_id(user, ("pk", "pk_id", "id"), f"{where}.user") if user else None
    owner_name = opt_str(user, "username", f"{where}.user") if user else None
    display_url, thumbnail_url = _mobile_images(item, where)
    views, plays = _mobile_views(item, post_type, where)
    return InstagramPost(
        shortcode=req_str(item, "code", where),
        post_id=opt_id(item, "pk", where) or opt_id(item, "id", where),
        profile_id=owner_id,
        handle=_lower(owner_name),
        post_type=post_type,
        content_type=content_type,
        caption=_mobile_caption(item, where),
        likes=opt_count(item, "like_count", where),
        comments=opt_count(item, "comment_count", where),
        views=views,
        plays=plays,
        display_url=display_url,
        thumbnail_url=thumbnail_url,
        taken_at=_taken_at(item, where),
    )


def mobile_items(page: dict[str, Any], where: str) -> list[InstagramPost]:
    """The posts of a mobile media page's ``items[]``; a page without the list is malformed.
    The items' paths start at ``items`` when the page is the whole body."""
    if "items" not in page:
        raise MalformedResponse(f"{where}: missing list 'items'")
    prefix = "items" if where == "body" else f"{where}.items"
    return [
        mobile_post(expect_dict(item, f"{prefix}[{i}]"), f"{prefix}[{i}]")
        for i, item in enumerate(opt_list(page, "items", where))
    ]


def mobile_follower(user: dict[str, Any], where: str) -> InstagramFollower:
    """A mobile-family short user (``friendships/{id}/followers`` ``users[]``)."""
    return InstagramFollower(
        profile_id=_first_id(user, ("pk", "pk_id", "id"), where),
        handle=req_str(user, "username", where).lower(),
        full_name=opt_str(user, "full_name", where),
        is_private=opt_bool(user, "is_private", where),
        is_verified=opt_bool(user, "is_verified", where),
        profile_pic_url=opt_str(user, "profile_pic_url", where),
    )


def mobile_next_max_id(page: dict[str, Any], where: str) -> str | None:
    """The mobile API's cursor: ``next_max_id`` while ``more_available`` is not false."""
    if opt_bool(page, "more_available", where) is False:
        return None
    return opt_id(page, "next_max_id", where)


# --------------------------------------------------------------------------- the adapters


@dataclass(frozen=True)
class Endpoint:
    """One GET of a scraping API: its path, the parameter naming the target (a handle, a
    profile id or a shortcode), the one carrying the cursor of a paged listing, and fixed
    parameters sent along (a page size)."""

    path: str
    target: str
    cursor: str | None = None
    fixed: Mapping[str, str] = field(default_factory=dict)

    def params(self, target: str, cursor: str | None = None) -> dict[str, str]:
        params = {self.target: target, **self.fixed}
        return with_cursor(params, self.cursor, cursor) if self.cursor else params


class RapidApiProvider(HeaderSecretAdapter, InstagramProvider):
    """Base class of the scraping-API adapters: GETs with the credential's headers
    (``host`` is the default x-rapidapi-host), answers read by the shared RapidAPI error
    mapping. An adapter keeps its endpoints, field names and error quirks.

    Requests are built from the ``*_endpoint`` an adapter names; a fetch type without one
    keeps ``InstagramProvider``'s builder (NotImplementedError). Listings are keyed by the
    profile id, not the handle: a renamed account keeps its id."""

    profile_endpoint: ClassVar[Endpoint | None] = None
    posts_endpoint: ClassVar[Endpoint | None] = None
    post_endpoint: ClassVar[Endpoint | None] = None
    followers_endpoint: ClassVar[Endpoint | None] = None
    #: Endpoints of the other listings (following, likes, comments), by listing name.
    listing_endpoints: ClassVar[Mapping[str, Endpoint]] = {}

    def _call(
        self, endpoint: Endpoint, target: str, cursor: str | None, credential: Credential, base: str
    ) -> ProviderRequest:
        return self._get(base, endpoint.path, endpoint.params(target, cursor), credential)

    def profile_request(
        self, handle: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        if self.profile_endpoint is None:
            return super().profile_request(handle, credential, base_url)
        return self._call(self.profile_endpoint, handle, None, credential, base_url)

    def posts_request(
        self,
        profile: InstagramProfile,
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        if self.posts_endpoint is None:
            return super().posts_request(profile, cursor, credential, base_url)
        return self._call(self.posts_endpoint, profile.profile_id, cursor, credential, base_url)

    def post_request(
        self, shortcode: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        if self.post_endpoint is None:
            return super().post_request(shortcode, credential, base_url)
        return self._call(self.post_endpoint, shortcode, None, credential, base_url)

    def followers_request(
        self,
        profile: InstagramProfile,
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        endpoint = self.followers_endpoint
        if endpoint is None:
            return super().followers_request(profile, cursor, credential, base_url)
        return self._call(endpoint, profile.profile_id, cursor, credential, base_url)

    def listing_request(
        self, listing: str, target: str, cursor: str | None, credential: Credential, base: str
    ) -> ProviderRequest:
        endpoint = self.listing_endpoints.get(listing)
        if endpoint is None:
            return super().listing_request(listing, target, cursor, credential, base)
        return self._call(endpoint, target, cursor, credential, base)

    def _error(self, raw: RawResponse, payload: Any) -> ProviderError | None:
        return rapidapi_error(raw, payload)
