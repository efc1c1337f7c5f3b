"""The Instagram provider interface plus the strict JSON accessors parsers are built from.

A provider is a set of request builders and PURE parsers, one pair per fetch type:

* ``profile``: ``profile_request(handle, ...)`` / ``parse_profile(raw)``
* ``posts``: ``posts_request(profile, cursor, ...)`` / ``parse_posts(raw)``
* ``post``: ``post_request(shortcode, ...)`` / ``parse_post(raw)``
* ``followers``: ``followers_request(profile, cursor, ...)`` / ``parse_followers(raw)``

Parsers take a ``RawResponse`` and either return model objects or raise a ``ProviderError``
subclass; whatever the body holds, nothing else escapes (see ``providers.parsing.guard``).
They never do I/O.
"""

from __future__ import annotations

import re
from abc import ABC
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from providers.credentials import Credential
from providers.errors import BadInput
from providers.http import KIND_POST, KIND_POSTS_PAGE, KIND_PROFILE, ProviderRequest, RawResponse
from providers.model import InstagramFollower, InstagramPost, InstagramProfile

# The accessors moved to ``providers.parsing``; the Instagram parsers import them from here.
from providers.parsing import (  # noqa: F401
    edge_count,
    expect_dict,
    field_dict,
    from_epoch,
    from_iso,
    guard,
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

__all__ = [
    "FETCH_COMMENTS",
    "FETCH_FOLLOWERS",
    "FETCH_FOLLOWING",
    "FETCH_LIKES",
    "FETCH_POST",
    "FETCH_POSTS",
    "FETCH_PROFILE",
    "FETCH_REELS",
    "FETCH_TAGGED",
    "KIND_FOLLOWERS_PAGE",
    "LISTINGS",
    "FollowersParse",
    "InstagramProvider",
    "ListingParse",
    "ProfileParse",
    "listing_kind",
    "normalize_handle",
    "normalize_shortcode",
]

FETCH_PROFILE = "profile"
FETCH_POSTS = "posts"
FETCH_POST = "post"
FETCH_FOLLOWERS = "followers"
FETCH_FOLLOWING = "following"
FETCH_LIKES = "likes"
FETCH_COMMENTS = "comments"
FETCH_REELS = "reels"
FETCH_TAGGED = "tagged"
#: Paged listings about one target (a profile id, or a shortcode for likes and comments).
LISTINGS = (
    FETCH_FOLLOWERS, FETCH_FOLLOWING, FETCH_LIKES, FETCH_COMMENTS, FETCH_REELS, FETCH_TAGGED,
)  # fmt: skip

#: ``RawResponse.kind`` of a followers page (the other kinds live in ``providers.http``).
KIND_FOLLOWERS_PAGE = "followers_page"


def listing_kind(listing: str) -> str:
    """``RawResponse.kind`` of a page of ``listing``: "followers_page", "likes_page", ..."""
    return f"{listing}_page"


ProfileParse = tuple[InstagramProfile, list[InstagramPost], str | None]
PostsParse = tuple[list[InstagramPost], str | None]
FollowersParse = tuple[list[InstagramFollower], str | None]
#: (accounts or comments, cursor of the next page or None).
ListingParse = tuple[list[Any], str | None]

T = TypeVar("T")

_HANDLE = re.compile(r"^[a-z0-9._]{1,30}$")
_SHORTCODE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def normalize_handle(handle: str) -> str:
    """Lower-case, strip whitespace and a leading ``@``; BadInput if not a valid username."""
    if not isinstance(handle, str):
        raise BadInput("handle must be a string")
    value = handle.strip().lstrip("@").lower()
    if not _HANDLE.match(value):
        raise BadInput(f"invalid Instagram handle {value[:40]!r}")
    return value


def normalize_shortcode(shortcode: str) -> str:
    if not isinstance(shortcode, str):
        raise BadInput("shortcode must be a string")
    value = shortcode.strip()
    if not _SHORTCODE.match(value):
        raise BadInput(f"invalid shortcode {value[:40]!r}")
    return value


# --------------------------------------------------------------------------- the interface


class InstagramProvider(ABC):  # noqa: B024 - no abstract methods on purpose: fetch types are opt-in
    """Base class of the Instagram providers.

    ``supports`` lists the fetch types implemented (``profile``, ``posts``, ``post``,
    ``followers``). A provider that lacks one keeps the default methods, which raise
    ``NotImplementedError``.
    ``profile_includes_posts`` tells the crawler whether the profile answer already carries the
    first posts page (Graph) or posts need their own first request (RapidAPI).
    """

    name: ClassVar[str] = ""
    supports: ClassVar[frozenset[str]] = frozenset()
    profile_includes_posts: ClassVar[bool] = False

    # -- request builders (pure) ------------------------------------------------------------

    def profile_request(
        self, handle: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        raise NotImplementedError(f"{self.name} does not fetch profiles")

    def posts_request(
        self,
        profile: InstagramProfile,
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        raise NotImplementedError(f"{self.name} does not fetch posts pages")

    def post_request(
        self, shortcode: str, credential: Credential, base_url: str
    ) -> ProviderRequest:
        raise NotImplementedError(f"{self.name} does not fetch posts by shortcode")

    def followers_request(
        self,
        profile: InstagramProfile,
        cursor: str | None,
        credential: Credential,
        base_url: str,
    ) -> ProviderRequest:
        """A page of the accounts following ``profile`` (providers key it by id or handle).
        ``cursor`` continues a listing on the provider that started it."""
        raise NotImplementedError(f"{self.name} does not fetch followers")

    def listing_request(
        self, listing: str, target: str, cursor: str | None, credential: Credential, base: str
    ) -> ProviderRequest:
        """A page of ``listing`` about ``target`` (a profile id; a shortcode for likes and
        comments). Followers go through ``followers_request``; adapters add the others."""
        if listing == FETCH_FOLLOWERS:
            subject = InstagramProfile(profile_id=target, handle="")
            return self.followers_request(subject, cursor, credential, base)
        raise NotImplementedError(f"{self.name} does not list {listing}")

    def parse_listing(self, listing: str, raw: RawResponse) -> ListingParse:
        if listing == FETCH_FOLLOWERS:
            return self.parse_followers(raw)
        return self._guard(raw, lambda r: self._parse_listing(listing, r))

    def _parse_listing(self, listing: str, raw: RawResponse) -> ListingParse:
        raise NotImplementedError(f"{self.name} does not list {listing}")

    # -- parsers (pure) -----------------------------------------------------------------------

    def parse_profile(self, raw: RawResponse) -> ProfileParse:
        """(profile, posts included in the answer, cursor of the next posts page or None)."""
        return self._guard(raw, self._parse_profile)

    def parse_posts(self, raw: RawResponse) -> PostsParse:
        """(posts, cursor of the next page or None)."""
        return self._guard(raw, self._parse_posts)

    def parse_post(self, raw: RawResponse) -> InstagramPost:
        return self._guard(raw, self._parse_post)

    def parse_followers(self, raw: RawResponse) -> FollowersParse:
        """(followers, cursor of the next page or None)."""
        return self._guard(raw, self._parse_followers)

    def parse(
        self, raw: RawResponse
    ) -> ProfileParse | PostsParse | InstagramPost | FollowersParse | ListingParse:
        """Dispatch on ``raw.kind``."""
        if raw.kind == KIND_PROFILE:
            return self.parse_profile(raw)
        if raw.kind == KIND_POSTS_PAGE:
            return self.parse_posts(raw)
        if raw.kind == KIND_POST:
            return self.parse_post(raw)
        if raw.kind == KIND_FOLLOWERS_PAGE:
            return self.parse_followers(raw)
        for listing in LISTINGS:
            if raw.kind == listing_kind(listing):
                return self.parse_listing(listing, raw)
        raise ValueError(f"unknown raw response kind {raw.kind!r}")

    # -- hooks for subclasses -------------------------------------------------------------------

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        raise NotImplementedError(f"{self.name} does not fetch profiles")

    def _parse_posts(self, raw: RawResponse) -> PostsParse:
        raise NotImplementedError(f"{self.name} does not fetch posts pages")

    def _parse_post(self, raw: RawResponse) -> InstagramPost:
        raise NotImplementedError(f"{self.name} does not fetch posts by shortcode")

    def _parse_followers(self, raw: RawResponse) -> FollowersParse:
        raise NotImplementedError(f"{self.name} does not fetch followers")

    def _guard(self, raw: RawResponse, fn: Callable[[RawResponse], T]) -> T:
        """Run a parser under ``providers.parsing.guard``: only ProviderError escapes."""
        return guard(self.name, raw, lambda: fn(raw))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
