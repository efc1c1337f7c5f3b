"""Deterministic fake Instagram data and the two providers' payloads built from it.

Every fact about a handle comes from a seed derived with SHA-256 (stable across processes and
Python versions, unlike ``hash()``). Post timestamps are relative to a reference time (by
default today's UTC midnight), so a handle's data is identical all day long.

Both provider formats are rendered from the same ``ProfileFacts``: a fallback from one provider
to the other yields the same profile and posts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

__all__ = [
    "ARRAYBOBO_PAGE_SIZE",
    "GRAPH_PAGE_SIZE",
    "LRU",
    "PostFacts",
    "ProfileFacts",
    "decode_cursor",
    "decode_shortcode",
    "encode_cursor",
    "encode_shortcode",
    "facts_for",
    "handle_seed",
    "is_missing",
    "is_private",
]

GRAPH_PAGE_SIZE = 25
ARRAYBOBO_PAGE_SIZE = 12
CDN = "https://cdn.sandbox.example"
_HANDLE = re.compile(r"^[a-z0-9._]{1,30}$")

PostKind = Literal["image", "video", "carousel"]

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small bounded mapping (least recently used entries go first)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def handle_seed(handle: str) -> int:
    digest = hashlib.sha256(f"beat-sandbox:{handle.lower()}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def is_missing(handle: str) -> bool:
    return handle.lower().startswith("missing_")


def is_private(handle: str) -> bool:
    return handle.lower().startswith("private_")


def valid_handle(handle: str) -> bool:
    return bool(_HANDLE.match(handle))


# ----------------------------------------------------------------------- shortcodes / cursors


def encode_shortcode(handle: str, index: int) -> str:
    """Reversible: base32 of ``handle:index`` without padding (characters A-Z, 2-7)."""
    return base64.b32encode(f"{handle}:{index}".encode()).decode("ascii").rstrip("=")


def decode_shortcode(shortcode: str) -> tuple[str, int] | None:
    text = shortcode.strip().upper()
    if not text or len(text) > 100:
        return None
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    handle, sep, index = raw.rpartition(":")
    if not sep or not valid_handle(handle) or not index.isdigit() or len(index) > 4:
        return None
    if encode_shortcode(handle, int(index)) != text:
        return None
    return handle, int(index)


def encode_cursor(prefix: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{prefix}:{offset}".encode()).decode("ascii").rstrip("=")


def decode_cursor(prefix: str, cursor: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    head, sep, offset = raw.partition(":")
    if head != prefix or not sep or not offset.isdigit() or len(offset) > 6:
        return None
    return int(offset)


# ----------------------------------------------------------------------------------- facts

_WORDS = (
    "sunset",
    "coffee",
    "travel",
    "studio",
    "weekend",
    "launch",
    "recipe",
    "morning",
    "city",
    "beach",
    "training",
    "design",
    "vintage",
    "market",
    "music",
    "festival",
    "garden",
    "ocean",
    "mountain",
    "street",
    "portrait",
    "behind-the-scenes",
    "collab",
    "giveaway",
    "tutorial",
    "review",
    "daily",
    "update",
    "friends",
    "family",
    "summer",
    "winter",
)
_TAGS = ("#travel", "#food", "#style", "#fitness", "#music", "#art", "#beauty", "#tech", "#ootd")
_BIOS = (
    "Creating every day ✨",
    "Coffee first, then the world.",
    "Official account. DM for collabs 📩",
    "Photographer | Traveller | Dreamer",
    "Recipes, reviews and real life.",
    "Making music and memories 🎶",
    "",
)
_CATEGORIES = (
    ("Digital creator", "2700"),
    ("Artist", "1301"),
    ("Musician/band", "180164648685982"),
    ("Personal blog", "361282040719868"),
    ("Entrepreneur", "2347428775505624"),
    ("Health/beauty", "2214"),
)


@dataclass(frozen=True, slots=True)
class PostFacts:
    index: int
    shortcode: str
    post_id: str
    kind: PostKind
    caption: str | None
    likes: int
    comments: int
    views: int | None
    plays: int | None
    taken_at: int
    display_url: str
    thumbnail_url: str
    video_url: str | None
    licensed_audio: bool  # Graph omits media_url for these videos

    @property
    def permalink(self) -> str:
        section = "reel" if self.kind == "video" else "p"
        return f"https://www.instagram.com/{section}/{self.shortcode}/"


@dataclass(frozen=True, slots=True)
class ProfileFacts:
    handle: str
    pk: str
    fbid: str
    full_name: str
    biography: str
    followers: int
    following: int
    media_count: int
    profile_pic_url: str
    account_type: int  # 1 personal, 2 business, 3 creator
    category: str | None
    category_id: str | None
    external_url: str | None
    is_private: bool
    is_verified: bool
    posts: tuple[PostFacts, ...]


def _caption(rng: random.Random) -> str | None:
    if rng.random() < 0.1:
        return None
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 12)))
    tags = " ".join(rng.sample(_TAGS, rng.randint(0, 3)))
    return f"{words.capitalize()} {tags}".strip()


def _make(handle: str, reference: int) -> ProfileFacts:
    seed = handle_seed(handle)
    rng = random.Random(seed)
    private = is_private(handle)
    pk = str(10_000_000_000 + seed % 9_000_000_000_000_000)
    n_posts = 12 + seed % 49
    followers = int(10 ** rng.uniform(2.0, 6.7))
    account_type = 1 if private else rng.choice((2, 3))
    category, category_id = rng.choice(_CATEGORIES) if account_type != 1 else (None, None)
    ages = sorted(rng.uniform(600.0, 60 * 86400.0 - 600.0) for _ in range(n_posts))
    base_id = 3_000_000_000_000_000_000 + (seed % 10**15) * 1000
    posts = []
    for i in range(n_posts):
        kind: PostKind = rng.choices(("image", "video", "carousel"), weights=(5, 3, 2))[0]
        shortcode = encode_shortcode(handle, i)
        likes = int(followers * rng.uniform(0.005, 0.08))
        comments = int(likes * rng.uniform(0.005, 0.05))
        views = int(likes * rng.uniform(5.0, 20.0)) if kind == "video" else None
        plays = int(views * rng.uniform(1.1, 1.6)) if views is not None else None
        posts.append(
            PostFacts(
                index=i,
                shortcode=shortcode,
                post_id=str(base_id + i),
                kind=kind,
                caption=_caption(rng),
                likes=likes,
                comments=comments,
                views=views,
                plays=plays,
                taken_at=reference - int(ages[i]),
                display_url=f"{CDN}/media/{shortcode}.jpg",
                thumbnail_url=f"{CDN}/media/{shortcode}_thumb.jpg",
                video_url=f"{CDN}/media/{shortcode}.mp4" if kind == "video" else None,
                licensed_audio=kind == "video" and rng.random() < 0.3,
            )
        )
    name = " ".join(part.capitalize() for part in re.split(r"[._]+", handle) if part) or handle
    return ProfileFacts(
        handle=handle,
        pk=pk,
        fbid=str(17_841_400_000_000_000 + seed % 10**12),
        full_name=name,
        biography=rng.choice(_BIOS),
        followers=followers,
        following=rng.randint(10, 7500),
        media_count=n_posts,
        profile_pic_url=f"{CDN}/profile/{pk}.jpg",
        account_type=account_type,
        category=category,
        category_id=category_id,
        external_url=None if rng.random() < 0.3 else f"https://example.com/{handle}",
        is_private=private,
        is_verified=rng.random() < 0.08,
        posts=tuple(posts),
    )


_FACTS: LRU[tuple[str, int], ProfileFacts] = LRU(8192)


def facts_for(handle: str, reference: int) -> ProfileFacts | None:
    """The facts for ``handle`` (None when it does not exist: ``missing_*`` or invalid)."""
    handle = handle.lower()
    if is_missing(handle) or not valid_handle(handle):
        return None
    key = (handle, reference)
    facts = _FACTS.get(key)
    if facts is None:
        facts = _make(handle, reference)
        _FACTS.put(key, facts)
    return facts


# ------------------------------------------------------------------------------ rendering


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def graph_timestamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def graph_media(facts: ProfileFacts, post: PostFacts) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": post.post_id,
        "username": facts.handle,
        "comments_count": post.comments,
        "like_count": post.likes,
        "media_type": {"image": "IMAGE", "video": "VIDEO", "carousel": "CAROUSEL_ALBUM"}[post.kind],
        "permalink": post.permalink,
        "timestamp": graph_timestamp(post.taken_at),
    }
    # The sandbox's videos are reels (their permalinks say /reel/); the rest is FEED.
    item["media_product_type"] = "REELS" if post.kind == "video" else "FEED"
    if post.kind == "video":
        item["thumbnail_url"] = post.display_url
        if not post.licensed_audio:
            item["media_url"] = post.video_url
    else:
        item["media_url"] = post.display_url
    if post.caption is not None:
        item["caption"] = post.caption
    if post.kind == "carousel":
        item["children"] = {"data": graph_children(post)}
    return item


def carousel_size(post: PostFacts) -> int:
    """2 to 4 pictures, fixed per post."""
    return 2 + int(post.post_id) % 3


def graph_children(post: PostFacts) -> list[dict[str, Any]]:
    """A carousel's ``children{id,media_type,media_url}``: Graph lists each picture."""
    return [
        {
            "id": f"{post.post_id}{k}",
            "media_type": "IMAGE",
            "media_url": f"{CDN}/media/{post.shortcode}_{k}.jpg",
        }
        for k in range(carousel_size(post))
    ]


def graph_business_discovery(
    facts: ProfileFacts,
    *,
    full: bool,
    offset: int,
    limit: int,
    next_url: str | None,
    with_ig_id: bool = True,
) -> bytes:
    """A ``business_discovery`` answer. ``next_url`` is used as the paging ``next`` link and may
    contain the ``{after}`` placeholder for the next cursor; ``None`` leaves it out, as Graph
    often does on this edge (only ``cursors.after`` then tells there is more). ``ig_id`` is
    deprecated: ``with_ig_id=False`` answers without it."""
    bd: dict[str, Any] = {"id": facts.fbid, "username": facts.handle}
    if with_ig_id:
        bd["ig_id"] = int(facts.pk)
    if full:
        bd.update(
            {
                "name": facts.full_name,
                "biography": facts.biography,
                "followers_count": facts.followers,
                "follows_count": facts.following,
                "media_count": facts.media_count,
                "profile_picture_url": facts.profile_pic_url,
            }
        )
        if facts.external_url:
            bd["website"] = facts.external_url
    if not facts.is_private:
        window = facts.posts[offset : offset + limit]
        media: dict[str, Any] = {"data": [graph_media(facts, p) for p in window]}
        if window:
            after = encode_cursor("g", offset + len(window))
            media["paging"] = {
                "cursors": {"before": encode_cursor("g", offset), "after": after},
            }
            if next_url is not None and offset + len(window) < len(facts.posts):
                media["paging"]["next"] = next_url.replace("{after}", after)
        bd["media"] = media
    return dumps({"business_discovery": bd, "id": "__USER_ID__"})


_TYPENAMES = {"image": "GraphImage", "video": "GraphVideo", "carousel": "GraphSidecar"}


def arraybobo_node(facts: ProfileFacts, post: PostFacts, *, owner_detail: bool) -> dict[str, Any]:
    node: dict[str, Any] = {
        "__typename": _TYPENAMES[post.kind],
        "id": post.post_id,
        "shortcode": post.shortcode,
        "display_url": post.display_url,
        "thumbnail_src": post.thumbnail_url,
        "is_video": post.kind == "video",
        "taken_at_timestamp": post.taken_at,
        "edge_media_to_caption": {
            "edges": [] if post.caption is None else [{"node": {"text": post.caption}}]
        },
        "edge_media_to_comment": {"count": post.comments},
        "edge_liked_by": {"count": post.likes},
        "edge_media_preview_like": {"count": post.likes},
        "comments_disabled": False,
        "owner": {"id": facts.pk, "username": facts.handle},
    }
    if post.kind == "video":
        node["video_view_count"] = post.views
        node["video_url"] = post.video_url
    if owner_detail:
        node["owner"].update(
            {
                "full_name": facts.full_name,
                "is_private": facts.is_private,
                "is_verified": facts.is_verified,
                "profile_pic_url": facts.profile_pic_url,
            }
        )
        if post.kind == "video":
            node["video_play_count"] = post.plays
    return node


def arraybobo_profile(facts: ProfileFacts) -> bytes:
    user = {
        "pk": facts.pk,
        "pk_id": facts.pk,
        "username": facts.handle,
        "full_name": facts.full_name,
        "biography": facts.biography,
        "follower_count": facts.followers,
        "following_count": facts.following,
        "media_count": facts.media_count,
        "hd_profile_pic_url_info": {
            "url": facts.profile_pic_url,
            "width": 320,
            "height": 320,
        },
        "profile_pic_url": facts.profile_pic_url,
        "account_type": facts.account_type,
        "is_business": facts.account_type == 2,
        "category": facts.category,
        "category_id": facts.category_id,
        "interop_messaging_user_fbid": facts.fbid,
        "external_url": facts.external_url or "",
        "city_name": "",
        "public_email": "",
        "contact_phone_number": "",
        "is_private": facts.is_private,
        "is_verified": facts.is_verified,
    }
    return dumps({"user": user, "status": "ok"})


def arraybobo_posts(facts: ProfileFacts, offset: int) -> bytes:
    window = facts.posts[offset : offset + ARRAYBOBO_PAGE_SIZE]
    end = offset + len(window)
    has_next = end < len(facts.posts)
    timeline = {
        "count": facts.media_count,
        "page_info": {
            "has_next_page": has_next,
            "end_cursor": encode_cursor("a", end) if has_next else None,
        },
        "edges": [{"node": arraybobo_node(facts, p, owner_detail=False)} for p in window],
    }
    return dumps({"data": {"user": {"edge_owner_to_timeline_media": timeline}}, "status": "ok"})


def arraybobo_post(facts: ProfileFacts, post: PostFacts) -> bytes:
    node = arraybobo_node(facts, post, owner_detail=True)
    return dumps({"data": {"shortcode_media": node}, "status": "ok"})
