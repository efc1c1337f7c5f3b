"""RapidAPI "instagram-scraper-2022" (ArrayBobo).

The credential secret IS the headers dict: ``{"x-rapidapi-key": ..., "x-rapidapi-host": ...}``.

* profile: ``GET {base}/ig/info_username/?user=h`` -> ``{"user": {...mobile API user...}}``
* posts:   ``GET {base}/ig/posts/?id_user=pk&end_cursor=c`` -> GraphQL timeline media
* post:    ``GET {base}/ig/post_info/?shortcode=s`` -> ``{"data": {"shortcode_media": {...}}}``
"""

from __future__ import annotations

from typing import Any, ClassVar

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
    FETCH_POST,
    FETCH_POSTS,
    FETCH_PROFILE,
    InstagramProvider,
    PostsParse,
    ProfileParse,
    edge_count,
    expect_dict,
    field_dict,
    from_epoch,
    load_json,
    opt_bool,
    opt_count,
    opt_dict,
    opt_id,
    opt_list,
    opt_str,
    req_id,
    req_str,
    to_int,
    try_json,
)
from providers.model import InstagramPost, InstagramProfile, PostType, ProfileType

__all__ = ["RAPIDAPI_HOST", "ArrayBobo", "arraybobo_error"]

RAPIDAPI_HOST = "instagram-scraper-2022.p.rapidapi.com"

_ACCOUNT_TYPES: dict[int, ProfileType] = {1: "personal", 2: "business", 3: "creator"}
_TYPENAMES: dict[str, tuple[PostType, str]] = {
    "GraphImage": ("image", "IMAGE"),
    "GraphVideo": ("reels", "VIDEO"),
    "GraphSidecar": ("carousel", "CAROUSEL_ALBUM"),
    "XDTGraphImage": ("image", "IMAGE"),
    "XDTGraphVideo": ("reels", "VIDEO"),
    "XDTGraphSidecar": ("carousel", "CAROUSEL_ALBUM"),
}

_NOT_FOUND_WORDS = ("not found", "not exist", "doesn't exist", "no user", "no such", "invalid user")
_RATE_WORDS = ("exceeded", "rate limit", "too many requests", "quota")
_AUTH_WORDS = ("not subscribed", "invalid api key", "api key", "unauthorized", "blocked user")


def _retry_after(raw: RawResponse) -> float | None:
    for name in ("retry-after", "x-ratelimit-requests-reset", "x-ratelimit-reset"):
        value = raw.header(name)
        if value:
            try:
                seconds = float(value.split(",")[0].strip())
            except ValueError:
                continue
            if seconds > 0:
                return seconds
    return None


def _message(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    for key in ("message", "error", "detail", "msg"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def arraybobo_error(raw: RawResponse, payload: Any) -> ProviderError | None:
    """Map an answer to an error, or None when it looks like a success."""
    status = raw.status
    message = _message(payload)
    lower = message.lower()
    text = message or f"HTTP {status}"
    if status == 429:
        return RateLimited(text, status=status, retry_after=_retry_after(raw))
    if status in (401, 403):
        if "private" in lower:
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
    # 2xx / other 4xx: the body decides.
    if "endpoint" in lower:
        return ProviderUnavailable(text, status=status)
    if "private" in lower:
        return TargetPrivate(text, status=status)
    if any(w in lower for w in _NOT_FOUND_WORDS):
        return TargetNotFound(text, status=status)
    if any(w in lower for w in _RATE_WORDS):
        return RateLimited(text, status=status, retry_after=_retry_after(raw))
    if any(w in lower for w in _AUTH_WORDS):
        return CredentialRejected(text, status=status)
    failed = isinstance(payload, dict) and str(payload.get("status", "")).lower() in (
        "fail",
        "failed",
        "error",
    )
    if failed:
        return TargetNotFound(text, status=status)
    if status >= 400:
        return ProviderUnavailable(text, status=status)
    return None


class ArrayBobo(InstagramProvider):
    name: ClassVar[str] = "arraybobo"
    supports: ClassVar[frozenset[str]] = frozenset({FETCH_PROFILE, FETCH_POSTS, FETCH_POST})
    profile_includes_posts: ClassVar[bool] = False

    # -- requests -----------------------------------------------------------------------------

    def _headers(self, credential: Credential) -> dict[str, str]:
        headers = {str(k): str(v) for k, v in credential.secret.items()}
        if not any(k.lower() == "x-rapidapi-key" for k in headers):
            raise CredentialRejected(
                "arraybobo credential needs 'x-rapidapi-key'", provider=self.name
            )
        if not any(k.lower() == "x-rapidapi-host" for k in headers):
            headers["x-rapidapi-host"] = RAPIDAPI_HOST
        return headers

    def profile_request(
        self, handle: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        return ProviderRequest(
            method="GET",
            url=f"{base_url.rstrip('/')}/ig/info_username/",
            params={"user": handle},
            headers=self._headers(credential),
        )

    def posts_request(
        self,
        profile: InstagramProfile,
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        params = {"id_user": profile.profile_id}
        if cursor:
            params["end_cursor"] = cursor
        return ProviderRequest(
            method="GET",
            url=f"{base_url.rstrip('/')}/ig/posts/",
            params=params,
            headers=self._headers(credential),
        )

    def post_request(
        self, shortcode: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        return ProviderRequest(
            method="GET",
            url=f"{base_url.rstrip('/')}/ig/post_info/",
            params={"shortcode": shortcode},
            headers=self._headers(credential),
        )

    # -- parsers ------------------------------------------------------------------------------

    def _payload(self, raw: RawResponse) -> dict[str, Any]:
        err = arraybobo_error(raw, try_json(raw))
        if err is not None:
            raise err
        return expect_dict(load_json(raw), "body")

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        payload = self._payload(raw)
        user = payload.get("user")
        if user is None and isinstance(payload.get("data"), dict):
            user = payload["data"].get("user")
        if user is None:
            raise MalformedResponse("body: missing object 'user'")
        user = expect_dict(user, "user")
        where = "user"
        account_type = to_int(user.get("account_type"), f"{where}.account_type")
        profile_type = _ACCOUNT_TYPES.get(account_type) if account_type is not None else None
        pic = opt_dict(user, "hd_profile_pic_url_info", where)
        pic_url = opt_str(pic, "url", f"{where}.hd_profile_pic_url_info") if pic else None
        profile = InstagramProfile(
            profile_id=req_id(user, "pk", where),
            handle=req_str(user, "username", where).lower(),
            full_name=opt_str(user, "full_name", where),
            biography=opt_str(user, "biography", where),
            followers=opt_count(user, "follower_count", where),
            following=opt_count(user, "following_count", where),
            media_count=opt_count(user, "media_count", where),
            profile_pic_url=pic_url or opt_str(user, "profile_pic_url", where),
            is_private=opt_bool(user, "is_private", where),
            is_verified=opt_bool(user, "is_verified", where),
            is_business_or_creator=(
                profile_type in ("business", "creator") if profile_type is not None else None
            ),
            profile_type=profile_type,
            category=opt_str(user, "category", where) or None,
            category_id=opt_id(user, "category_id", where),
            fbid=opt_id(user, "interop_messaging_user_fbid", where),
            external_url=opt_str(user, "external_url", where) or None,
        )
        return profile, [], None

    def _node(self, node: dict[str, Any], where: str) -> InstagramPost:
        typename = req_str(node, "__typename", where)
        post_type: PostType
        content_type: str
        known = _TYPENAMES.get(typename)
        if known is not None:
            post_type, content_type = known
        else:
            is_video = opt_bool(node, "is_video", where)
            if is_video is None:
                raise MalformedResponse(f"{where}.__typename: unknown type {typename[:30]!r}")
            post_type, content_type = ("reels", "VIDEO") if is_video else ("image", "IMAGE")
        caption: str | None = None
        captions = opt_dict(node, "edge_media_to_caption", where)
        if captions is not None:
            edges = opt_list(captions, "edges", f"{where}.edge_media_to_caption")
            if edges:
                first = expect_dict(edges[0], f"{where}.edge_media_to_caption.edges[0]")
                inner = field_dict(first, "node", f"{where}.edge_media_to_caption.edges[0]")
                caption = opt_str(inner, "text", f"{where}.edge_media_to_caption.edges[0].node")
        likes = edge_count(node, "edge_liked_by", where)
        if likes is None:
            likes = edge_count(node, "edge_media_preview_like", where)
        comments = edge_count(node, "edge_media_to_comment", where)
        if comments is None:
            comments = edge_count(node, "edge_media_preview_comment", where)
        owner = opt_dict(node, "owner", where)
        owner_id = opt_id(owner, "id", f"{where}.owner") if owner else None
        owner_name = opt_str(owner, "username", f"{where}.owner") if owner else None
        return InstagramPost(
            shortcode=req_str(node, "shortcode", where),
            post_id=opt_id(node, "id", where),
            profile_id=owner_id,
            handle=owner_name.lower() if owner_name else None,
            post_type=post_type,
            content_type=content_type,
            caption=caption,
            likes=likes,
            comments=comments,
            views=opt_count(node, "video_view_count", where),
            plays=opt_count(node, "video_play_count", where),
            display_url=opt_str(node, "display_url", where),
            thumbnail_url=opt_str(node, "thumbnail_src", where),
            taken_at=from_epoch(node.get("taken_at_timestamp"), f"{where}.taken_at_timestamp"),
        )

    def _parse_posts(self, raw: RawResponse) -> PostsParse:
        payload = self._payload(raw)
        data = field_dict(payload, "data", "body")
        user = data.get("user")
        if user is None:
            raise TargetNotFound("posts: no such user")
        user = expect_dict(user, "data.user")
        where = "data.user.edge_owner_to_timeline_media"
        timeline = field_dict(user, "edge_owner_to_timeline_media", "data.user")
        posts = []
        for i, edge in enumerate(opt_list(timeline, "edges", where)):
            edge_where = f"{where}.edges[{i}]"
            node = field_dict(expect_dict(edge, edge_where), "node", edge_where)
            posts.append(self._node(node, f"{edge_where}.node"))
        cursor: str | None = None
        page_info = opt_dict(timeline, "page_info", where)
        if page_info is not None and opt_bool(page_info, "has_next_page", f"{where}.page_info"):
            cursor = opt_str(page_info, "end_cursor", f"{where}.page_info") or None
        return posts, cursor

    def _parse_post(self, raw: RawResponse) -> InstagramPost:
        payload = self._payload(raw)
        data = field_dict(payload, "data", "body")
        media = data.get("shortcode_media")
        if media is None:
            raise TargetNotFound("post not found")
        return self._node(expect_dict(media, "data.shortcode_media"), "data.shortcode_media")
