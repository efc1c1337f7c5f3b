"""Instagram Graph API ``business_discovery``.

Request: ``GET {base}/{version}/{user_id}?fields=business_discovery.username(h){...}
&access_token=`` with the credential ``{"token", "user_id"}``; the version is a setting
(``GRAPH_VERSION`` by default; the original pinned v12.0, long retired).
Only professional (business / creator) accounts are visible. No post-by-shortcode.

What Graph really sends (fixtures in tests/fixtures/payloads/graphapi/ say where each is from):

* the media edge pages with ``paging.cursors.after`` and often **no** ``next`` link
  (restfb/restfb#1148, facebookarchive/php-graph-sdk#1151): paging follows ``after`` and
  stops on an empty page or a cursor already seen;
* ``ig_id`` is deprecated and often absent: the profile is then keyed by the Graph ``id``;
* ``media_product_type`` tells a reel (REELS) from a feed video (FEED); a carousel's
  pictures come in ``children``.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any, ClassVar

from providers.credentials import Credential
from providers.errors import (
    CredentialRejected,
    MalformedResponse,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
    TargetNotServed,
)
from providers.http import ProviderRequest, RawResponse
from providers.instagram.base import (
    FETCH_POSTS,
    FETCH_PROFILE,
    InstagramProvider,
    PostsParse,
    ProfileParse,
    expect_dict,
    field_dict,
    from_iso,
    load_json,
    opt_count,
    opt_dict,
    opt_id,
    opt_list,
    opt_str,
    req_id,
    req_str,
    try_json,
)
from providers.model import CarouselChild, InstagramPost, InstagramProfile, PostType

__all__ = ["GRAPH_VERSION", "GraphApi", "graph_error"]

#: The default Graph API version (``BEAT_GRAPH_API_VERSION`` overrides it).
GRAPH_VERSION = "v24.0"

CHILD_FIELDS = "id,media_type,media_url,thumbnail_url"
MEDIA_FIELDS = (
    "id,username,comments_count,like_count,media_type,media_product_type,media_url,"
    f"thumbnail_url,caption,timestamp,permalink,children{{{CHILD_FIELDS}}}"
)
PROFILE_FIELDS = (
    "id,ig_id,name,website,followers_count,follows_count,profile_picture_url,username,"
    "biography,media_count"
)

_MEDIA_TYPES: dict[str, PostType] = {
    "IMAGE": "image",
    # A video without media_product_type (older answers) is a reel, as the original read it.
    "VIDEO": "reels",
    "CAROUSEL_ALBUM": "carousel",
    "STORY": "story",
}
#: media_product_type overrides: a FEED video is a feed video, not a reel.
_PRODUCT_TYPES: dict[tuple[str, str], PostType] = {
    ("VIDEO", "FEED"): "video",
    ("VIDEO", "REELS"): "reels",
    ("VIDEO", "STORY"): "story",
    ("IMAGE", "STORY"): "story",
}
#: Code 100 in business_discovery about the caller itself (its user id or the token's
#: permissions), not about the account looked up: the credential is unusable as it stands.
_CALLER_FAULT_WORDS = ("does not exist", "missing permissions", "does not support this operation")

_RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 368, 613, 80001, 80002})
_TRANSIENT_CODES = frozenset({1, 2})
_NOT_FOUND_CODES = frozenset({110})
_NOT_FOUND_SUBCODES = frozenset({2207013})
_AUTH_CODES = frozenset({102, 190, 10}) | frozenset(range(200, 300))
_NOT_PROFESSIONAL_WORDS = ("business", "creator", "professional")


def _usage_wait_seconds(raw: RawResponse) -> float | None:
    """Longest ``estimated_time_to_regain_access`` (minutes) in X-Business-Use-Case-Usage."""
    header = raw.header("x-business-use-case-usage")
    waits: list[float] = []
    if header:
        try:
            usage = json.loads(header)
        except ValueError:
            usage = None
        if isinstance(usage, dict):
            for entries in usage.values():
                for entry in entries if isinstance(entries, list) else [entries]:
                    if isinstance(entry, dict):
                        minutes = entry.get("estimated_time_to_regain_access")
                        if isinstance(minutes, int | float) and not isinstance(minutes, bool):
                            waits.append(max(0.0, float(minutes)) * 60.0)
    retry_after = raw.header("retry-after")
    if retry_after:
        with contextlib.suppress(ValueError):
            waits.append(max(0.0, float(retry_after)))
    positive = [w for w in waits if w > 0]
    return max(positive) if positive else None


def graph_error(
    raw: RawResponse, payload: Any, *, not_found_is_final: bool = True
) -> ProviderError | None:
    """Map a Graph answer to an error, or None when it is a success.

    Code 110 / subcode 2207013 ("Cannot find User") is a ``TargetNotFound``. Graph gives the
    same answer for accounts that exist but are not professional; with
    ``not_found_is_final=False`` it becomes ``TargetNotServed`` so the chain falls back.
    Code 100 naming a non business/creator account is always ``TargetNotServed``.
    """
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        subcode = error.get("error_subcode")
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        subcode = subcode if isinstance(subcode, int) and not isinstance(subcode, bool) else None
        message = error.get("message")
        text = message if isinstance(message, str) else "Graph API error"
        user_msg = error.get("error_user_msg")
        user_text = user_msg if isinstance(user_msg, str) else ""
        detail = f"(#{code}{'/' + str(subcode) if subcode else ''}) {_without_code(text)}"
        status = raw.status
        if code in _NOT_FOUND_CODES or subcode in _NOT_FOUND_SUBCODES:
            if not_found_is_final:
                return TargetNotFound(detail, status=status)
            return TargetNotServed(detail, status=status)
        if code == 100 and any(w in f"{text} {user_text}".lower() for w in _NOT_PROFESSIONAL_WORDS):
            return TargetNotServed(detail, status=status)
        if code == 100 and any(w in text.lower() for w in _CALLER_FAULT_WORDS):
            return CredentialRejected(detail, status=status)
        if code in _RATE_LIMIT_CODES:
            return RateLimited(detail, status=status, retry_after=_usage_wait_seconds(raw))
        if code in _AUTH_CODES:
            return CredentialRejected(detail, status=status)
        if code in _TRANSIENT_CODES or error.get("is_transient") is True:
            return ProviderUnavailable(detail, status=status)
        if raw.status == 429:
            return RateLimited(detail, status=status, retry_after=_usage_wait_seconds(raw))
        if raw.status in (401, 403):
            return CredentialRejected(detail, status=status)
        return ProviderUnavailable(detail, status=status)
    if raw.status == 200:
        return None
    if raw.status == 429:
        return RateLimited("HTTP 429", status=raw.status, retry_after=_usage_wait_seconds(raw))
    if raw.status in (401, 403):
        return CredentialRejected(f"HTTP {raw.status}", status=raw.status)
    return ProviderUnavailable(f"HTTP {raw.status}", status=raw.status)


def _without_code(text: str) -> str:
    """Graph messages often start with their own "(#100) "; the detail adds it once."""
    return re.sub(r"^\(#\d+\)\s*", "", text)


def _shortcode_from_permalink(permalink: str, where: str) -> str:
    """Last non-empty path segment: ``https://www.instagram.com/p/ABC/`` gives ``ABC`` (the
    second-to-last ``/``-separated piece of a canonical permalink)."""
    path = permalink.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = path.split("://", 1)[1]
        path = path.split("/", 1)[1] if "/" in path else ""
    segments = [s for s in path.split("/") if s]
    if not segments:
        raise MalformedResponse(f"{where}.permalink: no shortcode in permalink")
    return segments[-1]


def _children(item: dict[str, Any], where: str) -> tuple[CarouselChild, ...]:
    edge = opt_dict(item, "children", where)
    if edge is None:
        return ()
    out = []
    for i, child in enumerate(opt_list(edge, "data", f"{where}.children")):
        at = f"{where}.children.data[{i}]"
        child = expect_dict(child, at)
        out.append(
            CarouselChild(
                media_id=req_id(child, "id", at),
                media_type=(opt_str(child, "media_type", at) or "IMAGE").upper(),
                media_url=opt_str(child, "media_url", at),
                thumbnail_url=opt_str(child, "thumbnail_url", at),
            )
        )
    return tuple(out)


class GraphApi(InstagramProvider):
    name: ClassVar[str] = "graphapi"
    supports: ClassVar[frozenset[str]] = frozenset({FETCH_PROFILE, FETCH_POSTS})
    profile_includes_posts: ClassVar[bool] = True

    def __init__(
        self,
        page_size: int = 25,
        version: str = GRAPH_VERSION,
        *,
        # Graph answers 110 for accounts that exist but are not professional, so by default
        # "not found" here only means "ask the next provider" (the original did the same).
        not_found_is_final: bool = False,
    ) -> None:
        self.page_size = page_size
        self.version = version
        self.not_found_is_final = not_found_is_final

    # -- requests -----------------------------------------------------------------------------

    def _request(self, credential: Credential, base_url: str, fields: str) -> ProviderRequest:
        user_id = credential.secret.get("user_id")
        token = credential.secret.get("token")
        if not user_id or not token:
            raise CredentialRejected(
                "graphapi credential needs 'token' and 'user_id'", provider=self.name
            )
        return ProviderRequest(
            method="GET",
            url=f"{base_url.rstrip('/')}/{self.version}/{user_id}",
            params={"fields": fields, "access_token": token},
        )

    def profile_request(
        self, handle: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        fields = (
            f"business_discovery.username({handle}){{{PROFILE_FIELDS},"
            f"media.limit({self.page_size}){{{MEDIA_FIELDS}}}}}"
        )
        return self._request(credential, base_url, fields)

    def posts_request(
        self,
        profile: InstagramProfile,
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        media = f"media.limit({self.page_size})"
        if cursor:
            media = f"media.after({cursor}).limit({self.page_size})"
        fields = (
            f"business_discovery.username({profile.handle}){{id,ig_id,username,"
            f"{media}{{{MEDIA_FIELDS}}}}}"
        )
        return self._request(credential, base_url, fields)

    # -- parsers ------------------------------------------------------------------------------

    def _discovery(self, raw: RawResponse) -> dict[str, Any]:
        err = graph_error(raw, try_json(raw), not_found_is_final=self.not_found_is_final)
        if err is not None:
            raise err
        payload = expect_dict(load_json(raw), "body")
        return field_dict(payload, "business_discovery", "body")

    def _media(
        self, discovery: dict[str, Any], profile_id: str | None, handle: str | None
    ) -> tuple[list[InstagramPost], str | None]:
        media = opt_dict(discovery, "media", "business_discovery")
        if media is None:
            return [], None
        where = "business_discovery.media"
        posts = [
            self._post(
                expect_dict(item, f"{where}.data[{i}]"), f"{where}.data[{i}]", profile_id, handle
            )
            for i, item in enumerate(opt_list(media, "data", where))
        ]
        cursor: str | None = None
        paging = opt_dict(media, "paging", where)
        # Follow `after` even without a `next` link (Graph often omits it on this edge); the
        # crawler stops on an empty page or a cursor it has already followed.
        if paging is not None and posts:
            cursors = opt_dict(paging, "cursors", f"{where}.paging")
            if cursors is not None:
                cursor = opt_str(cursors, "after", f"{where}.paging.cursors") or None
        return posts, cursor

    def _post(
        self, item: dict[str, Any], where: str, profile_id: str | None, handle: str | None
    ) -> InstagramPost:
        media_type = req_str(item, "media_type", where).upper()
        product = (opt_str(item, "media_product_type", where) or "").upper()
        post_type = _PRODUCT_TYPES.get((media_type, product)) or _MEDIA_TYPES.get(media_type)
        if post_type is None:
            raise MalformedResponse(f"{where}.media_type: unknown media type {media_type[:30]!r}")
        media_url = opt_str(item, "media_url", where)
        thumbnail = opt_str(item, "thumbnail_url", where)
        return InstagramPost(
            shortcode=_shortcode_from_permalink(req_str(item, "permalink", where), where),
            post_id=opt_id(item, "id", where),
            profile_id=profile_id,
            handle=opt_str(item, "username", where) or handle,
            post_type=post_type,
            content_type=media_type,
            caption=opt_str(item, "caption", where),
            likes=opt_count(item, "like_count", where),
            comments=opt_count(item, "comments_count", where),
            display_url=media_url or thumbnail,
            thumbnail_url=thumbnail,
            taken_at=from_iso(item.get("timestamp"), f"{where}.timestamp"),
            children=_children(item, where),
        )

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        bd = self._discovery(raw)
        where = "business_discovery"
        profile = InstagramProfile(
            # ig_id is deprecated and often absent; the Graph id names the account then.
            profile_id=opt_id(bd, "ig_id", where) or req_id(bd, "id", where),
            handle=req_str(bd, "username", where).lower(),
            full_name=opt_str(bd, "name", where),
            biography=opt_str(bd, "biography", where),
            followers=opt_count(bd, "followers_count", where),
            following=opt_count(bd, "follows_count", where),
            media_count=opt_count(bd, "media_count", where),
            profile_pic_url=opt_str(bd, "profile_picture_url", where),
            is_business_or_creator=True,
            fbid=opt_id(bd, "id", where),
            external_url=opt_str(bd, "website", where) or None,
        )
        posts, cursor = self._media(bd, profile.profile_id, profile.handle)
        return profile, posts, cursor

    def _parse_posts(self, raw: RawResponse) -> PostsParse:
        bd = self._discovery(raw)
        handle = opt_str(bd, "username", "business_discovery")
        where = "business_discovery"
        profile_id = opt_id(bd, "ig_id", where) or opt_id(bd, "id", where)
        return self._media(bd, profile_id, handle and handle.lower())
