"""Provider-neutral Instagram model.

Every provider parser produces these objects. ``dimensions()`` and ``metrics()`` give the
``[{"key": ..., "value": ...}]`` lists the original engine stored and emitted, with its key names;
``flatten`` turns such a list into the ``{key: value}`` map used in events.

Keys whose value is ``None`` are left out: a provider that does not expose a field says nothing
about it, and downstream "null never overwrites" rules then keep the last known value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "POST_TYPES",
    "PROFILE_TYPES",
    "CarouselChild",
    "InstagramComment",
    "InstagramFollower",
    "InstagramPost",
    "InstagramProfile",
    "PostActivity",
    "PostType",
    "ProfileRelationship",
    "ProfileType",
    "ProfileWithPosts",
    "flatten",
]

#: "video" is a feed video (Graph media_product_type FEED), told apart from a reel.
PostType = Literal["image", "reels", "video", "carousel", "story"]
ProfileType = Literal["personal", "business", "creator"]
POST_TYPES: frozenset[str] = frozenset({"image", "reels", "video", "carousel", "story"})
PROFILE_TYPES: frozenset[str] = frozenset({"personal", "business", "creator"})


def _pairs(items: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in items if v is not None]


@dataclass(frozen=True, slots=True)
class InstagramProfile:
    profile_id: str
    handle: str
    full_name: str | None = None
    biography: str | None = None
    followers: int | None = None
    following: int | None = None
    media_count: int | None = None
    profile_pic_url: str | None = None
    is_private: bool | None = None
    is_verified: bool | None = None
    is_business_or_creator: bool | None = None
    profile_type: ProfileType | None = None
    category: str | None = None
    category_id: str | None = None
    fbid: str | None = None
    external_url: str | None = None

    def metrics(self) -> list[dict[str, Any]]:
        return _pairs(
            (
                ("media_count", self.media_count),
                ("followers", self.followers),
                ("following", self.following),
            )
        )

    def dimensions(self) -> list[dict[str, Any]]:
        return _pairs(
            (
                ("profile_id", self.profile_id),
                ("handle", self.handle),
                ("full_name", self.full_name),
                ("bio", self.biography),
                ("profile_pic_url", self.profile_pic_url),
                ("external_url", self.external_url),
                ("fbid", self.fbid),
                ("is_business_or_creator", self.is_business_or_creator),
                ("profile_type", self.profile_type),
                ("category", self.category),
                ("category_id", self.category_id),
                ("is_private", self.is_private),
                ("is_verified", self.is_verified),
            )
        )


@dataclass(frozen=True, slots=True)
class CarouselChild:
    """One picture or video of a carousel (Graph ``children``)."""

    media_id: str
    media_type: str
    media_url: str | None = None
    thumbnail_url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.media_id, "media_type": self.media_type,
                "media_url": self.media_url, "thumbnail_url": self.thumbnail_url}  # fmt: skip


@dataclass(frozen=True, slots=True)
class InstagramPost:
    shortcode: str
    post_id: str | None
    profile_id: str | None
    handle: str | None
    post_type: PostType
    content_type: str | None = None
    caption: str | None = None
    likes: int | None = None
    comments: int | None = None
    views: int | None = None
    plays: int | None = None
    display_url: str | None = None
    thumbnail_url: str | None = None
    taken_at: datetime | None = None
    #: Every picture/video of a carousel, in order (empty for other posts or unknown).
    children: tuple[CarouselChild, ...] = ()

    @property
    def taken_at_timestamp(self) -> int | None:
        """Publish time as epoch seconds (the original's ``taken_at_timestamp``)."""
        if self.taken_at is None:
            return None
        return int(self.taken_at.timestamp())

    def metrics(self) -> list[dict[str, Any]]:
        return _pairs(
            (
                ("likes", self.likes),
                ("comments", self.comments),
                ("views", self.views),
                ("plays", self.plays),
            )
        )

    def dimensions(self) -> list[dict[str, Any]]:
        return _pairs(
            (
                ("shortcode", self.shortcode),
                ("post_id", self.post_id),
                ("profile_id", self.profile_id),
                ("handle", self.handle),
                ("post_type", self.post_type),
                ("content_type", self.content_type),
                ("caption", self.caption),
                ("display_url", self.display_url),
                ("thumbnail_src", self.thumbnail_url),
                ("taken_at_timestamp", self.taken_at_timestamp),
                ("children", [c.as_dict() for c in self.children] or None),
            )
        )

    def with_owner(self, profile_id: str | None, handle: str | None) -> InstagramPost:
        """Fill a missing owner (posts pages often omit it); never overwrite a known one."""
        if (self.profile_id or not profile_id) and (self.handle or not handle):
            return self
        return InstagramPost(
            shortcode=self.shortcode,
            post_id=self.post_id,
            profile_id=self.profile_id or profile_id,
            handle=self.handle or handle,
            post_type=self.post_type,
            content_type=self.content_type,
            caption=self.caption,
            likes=self.likes,
            comments=self.comments,
            views=self.views,
            plays=self.plays,
            display_url=self.display_url,
            thumbnail_url=self.thumbnail_url,
            taken_at=self.taken_at,
            children=self.children,
        )


@dataclass(frozen=True, slots=True)
class InstagramFollower:
    """An account that follows a target profile: the source of a FOLLOWS relationship whose
    target is the profile the followers page was fetched for.

    A followers page names only the follower; the target is known from the request, so the
    crawler pairs the two (``follows``) rather than every row repeating it.
    """

    profile_id: str
    handle: str
    full_name: str | None = None
    is_private: bool | None = None
    is_verified: bool | None = None
    profile_pic_url: str | None = None

    def dimensions(self) -> list[dict[str, Any]]:
        return _pairs(
            (
                ("profile_id", self.profile_id),
                ("handle", self.handle),
                ("full_name", self.full_name),
                ("profile_pic_url", self.profile_pic_url),
                ("is_private", self.is_private),
                ("is_verified", self.is_verified),
            )
        )

    def follows(self, target_profile_id: str) -> dict[str, str]:
        """The FOLLOWS relationship: this follower (source) follows ``target_profile_id``."""
        return {
            "relationship": "FOLLOWS",
            "source_profile_id": self.profile_id,
            "source_handle": self.handle,
            "target_profile_id": target_profile_id,
        }


@dataclass(frozen=True, slots=True)
class InstagramComment:
    """A top-level comment on a post: who wrote what, when."""

    comment_id: str
    text: str | None
    owner: InstagramFollower
    created_at: datetime | None = None
    likes: int | None = None

    def dimensions(self) -> list[dict[str, Any]]:
        """The original's comment dimensions."""
        return _pairs(
            (("comment_id", self.comment_id), ("text", self.text), ("handle", self.owner.handle))
        )

    def metrics(self) -> list[dict[str, Any]]:
        return _pairs((("likes", self.likes),))


@dataclass(frozen=True, slots=True)
class PostActivity:
    """Someone liked or commented a post (``activity_type`` LIKE or COMMENT)."""

    activity_type: str
    shortcode: str
    actor: InstagramFollower
    comment: InstagramComment | None = None

    @property
    def key(self) -> str:
        """What makes it unique on its post: the comment, or the liker."""
        return self.comment.comment_id if self.comment is not None else self.actor.profile_id


@dataclass(frozen=True, slots=True)
class ProfileRelationship:
    """``source`` FOLLOWS ``target``. A followers listing of X yields (follower, X); a
    following listing of X yields (X, followed). The listed side carries what the provider
    said about the account; the subject side often only its id."""

    source: InstagramFollower
    target: InstagramFollower
    relationship_type: str = "FOLLOWS"


@dataclass(frozen=True, slots=True)
class ProfileWithPosts:
    profile: InstagramProfile
    posts: tuple[InstagramPost, ...] = ()


def flatten(pairs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``[{"key": k, "value": v}, ...]`` to ``{k: v}`` (the event shape). Later keys win."""
    return {item["key"]: item["value"] for item in pairs}


def utc_from_timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
