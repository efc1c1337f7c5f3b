"""Fetch Instagram data through a fallback chain of providers.

For each fetch the crawler walks the chain configured for its fetch type (``chains`` is data):
a provider without a base URL or an eligible credential is skipped; a ``ProviderFault`` moves on
to the next provider (rate limits and rejected credentials are reported to the credential
source); a ``TargetFact`` or ``BadInput`` is raised at once. When every provider failed, the
crawler raises ``NoProviderAvailable`` carrying what each attempt ended in.

Pagination never switches provider: all pages of one fetch come from the provider that served
the profile; a fault on a later page fails that provider and the chain restarts from scratch
on the next one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

from providers.credentials import Credential
from providers.engine import (
    MAX_BODY_BYTES,
    BeforeRequest,
    ChainEntry,
    Crawler,
    Fetched,
)
from providers.errors import BadInput
from providers.http import KIND_POST, KIND_POSTS_PAGE, KIND_PROFILE, RawResponse
from providers.instagram import PROVIDERS
from providers.instagram import graph_insights as insights
from providers.instagram import graph_stories as stories
from providers.instagram.base import (
    FETCH_COMMENTS,
    FETCH_FOLLOWERS,
    FETCH_FOLLOWING,
    FETCH_HASHTAG,
    FETCH_INSIGHTS,
    FETCH_LIKES,
    FETCH_POST,
    FETCH_POSTS,
    FETCH_PROFILE,
    FETCH_PROFILE_BY_ID,
    FETCH_REELS,
    FETCH_STORIES,
    FETCH_TAGGED,
    KIND_FOLLOWERS_PAGE,
    KIND_PROFILE_BY_ID,
    LISTINGS,
    InstagramProvider,
    listing_kind,
    normalize_handle,
    normalize_hashtag,
    normalize_shortcode,
)
from providers.instagram.graph_insights import PostInsights, ProfileInsights
from providers.instagram.graph_stories import GraphStories, with_stories
from providers.model import (
    InstagramComment,
    InstagramFollower,
    InstagramPost,
    InstagramProfile,
    ProfileWithPosts,
)

__all__ = [
    "DEFAULT_CHAINS",
    "FETCH_TYPES",
    "MAX_BODY_BYTES",
    "BeforeRequest",
    "Fetched",
    "InstagramCrawler",
    "answered_at",
    "assemble_profile",
    "reparse",
]

MAX_PAGES = 100
#: Listings page further (2,000 followers at 50 a page is 40 pages); a loop guard, not a cap.
MAX_LISTING_PAGES = 200
DAY_SECONDS = 86400.0

#: The original engine's fallback table (``available_sources``), in the original order, as data
#: (``CrawlerResource.chains`` overrides it). A dict entry is a weighted group: its order is
#: drawn per fetch.
DEFAULT_CHAINS: dict[str, list[ChainEntry]] = {
    "profile_by_id": ["jotucker", "arraybobo"],
    "profile_by_handle": ["graphapi", "arraybobo", "jotucker", "lama", "bestsolutions"],
    "profile_posts_by_id": ["jotucker", "lama", "arraybobo"],
    "profile_posts_by_handle": ["graphapi"],
    "reels": ["arraybobo", "rocketapi"],
    "post_by_shortcode": ["arraybobo", "jotucker", "rocketapi", "lama"],
    "post_insights": ["graphapi"],
    "profile_insights": ["graphapi"],
    "stories_posts": ["graphapi"],
    "comments": ["jotucker"],
    "likes": ["jotucker"],
    "following": ["jotucker", "lama"],
    # The original's weighted split; the other one follows as fallback.
    "followers": ["rocketapi=0.7,jotucker=0.3"],
    "hashtag": ["jotucker", "lama"],
    "tagged": ["arraybobo"],
    "story_posts": ["arraybobo", "rocketapi", "lama"],
}

#: Which provider fetch types each crawler fetch needs.
FETCH_TYPES: dict[str, frozenset[str]] = {
    "profile_by_handle": frozenset({FETCH_PROFILE, FETCH_POSTS}),
    "post_by_shortcode": frozenset({FETCH_POST}),
    # The handle-based first page also fetches the profile: both followers providers do.
    "followers": frozenset({FETCH_FOLLOWERS}),
    "following": frozenset({FETCH_FOLLOWING}),
    "likes": frozenset({FETCH_LIKES}),
    "comments": frozenset({FETCH_COMMENTS}),
    "reels": frozenset({FETCH_REELS}),
    "tagged": frozenset({FETCH_TAGGED}),
    "story_posts": frozenset({FETCH_STORIES}),
    "hashtag": frozenset({FETCH_HASHTAG}),
    "profile_by_id": frozenset({FETCH_PROFILE_BY_ID}),
    "post_insights": frozenset({FETCH_INSIGHTS}),
    "profile_insights": frozenset({FETCH_INSIGHTS}),
    "stories_posts": frozenset({FETCH_INSIGHTS}),
}


@dataclass(frozen=True)
class FollowersCursor:
    """Where a followers listing stopped. It is only meaningful to the provider that issued
    it: pass it back to ``followers`` to continue there (no fallback on the next pages)."""

    provider: str
    profile_id: str
    handle: str
    token: str


@dataclass(frozen=True)
class FollowersPage:
    followers: tuple[InstagramFollower, ...]
    next: FollowersCursor | None


# --------------------------------------------------------------------------- pure assembly


def _older_than(post: InstagramPost, cutoff: float | None) -> bool:
    return cutoff is not None and post.taken_at is not None and post.taken_at.timestamp() < cutoff


def assemble_profile(
    profile: InstagramProfile,
    pages: Iterable[Sequence[InstagramPost]],
    *,
    max_posts: int | None,
    cutoff: float | None,
) -> ProfileWithPosts:
    """Join posts pages into a ``ProfileWithPosts``: fill missing owners, drop duplicates and
    posts older than ``cutoff`` (epoch seconds), keep at most ``max_posts``."""
    seen: set[str] = set()
    kept: list[InstagramPost] = []
    for page in pages:
        for post in page:
            if post.shortcode in seen or _older_than(post, cutoff):
                continue
            seen.add(post.shortcode)
            kept.append(post.with_owner(profile.profile_id, profile.handle))
    if max_posts is not None:
        kept = kept[: max(0, max_posts)]
    return ProfileWithPosts(profile=profile, posts=tuple(kept))


def answered_at(raw: RawResponse) -> float | None:
    """When the provider answered: its ``Date`` header (the crawler adds one when the provider
    sent none), else ``fetched_at``. The age cut-off is measured from here, so re-parsing a stored
    response applies exactly the cut-off the live fetch applied."""
    date = raw.header("date")
    if date:
        try:
            parsed = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.timestamp()
    return raw.fetched_at or None


def _cutoff(raw: RawResponse, max_age_days: float | None) -> float | None:
    reference = answered_at(raw)
    if max_age_days is None or reference is None:
        return None
    return reference - max_age_days * DAY_SECONDS


def _page_says_stop(page: Sequence[InstagramPost], cutoff: float | None) -> bool:
    """Posts come newest first: once a page ends older than the cutoff, no later page helps."""
    return bool(page) and _older_than(page[-1], cutoff)


def reparse(
    raws: Sequence[RawResponse],
    *,
    providers: Mapping[str, InstagramProvider] = PROVIDERS,
    max_posts: int | None = 50,
    max_age_days: float | None = 30,
) -> ProfileWithPosts | InstagramPost:
    """Rebuild a result from stored raw responses, with no network.

    ``raws`` is ``Fetched.raw`` of a live fetch: one ``post`` response, or one ``profile``
    response followed by its ``posts_page`` responses. With the same ``max_posts`` and
    ``max_age_days`` as the live call (defaults match), the result equals the live one: the age
    cut-off is measured from the profile response's ``Date`` header (see ``answered_at``).
    """
    if not raws:
        raise ValueError("nothing to re-parse")
    names = {r.provider for r in raws}
    if len(names) != 1:
        raise ValueError(f"raw responses come from several providers: {sorted(names)}")
    provider = providers.get(raws[0].provider)
    if provider is None:
        raise ValueError(f"unknown provider {raws[0].provider!r}")
    first = raws[0]
    if first.kind == KIND_POST:
        if len(raws) != 1:
            raise ValueError("a post result has exactly one raw response")
        return provider.parse_post(first)
    if first.kind != KIND_PROFILE:
        raise ValueError(f"first raw response must be a profile or a post, not {first.kind!r}")
    profile, posts, _ = provider.parse_profile(first)
    pages: list[Sequence[InstagramPost]] = [posts]
    for raw in raws[1:]:
        if raw.kind != KIND_POSTS_PAGE:
            raise ValueError(f"unexpected raw response kind {raw.kind!r} after a profile")
        page, _ = provider.parse_posts(raw)
        pages.append(page)
    return assemble_profile(
        profile, pages, max_posts=max_posts, cutoff=_cutoff(first, max_age_days)
    )


_reparse = reparse


def _item_key(item: Any) -> str:
    if isinstance(item, InstagramComment):
        return item.comment_id
    if isinstance(item, InstagramPost):
        return item.shortcode
    return str(item.profile_id)


class _Collected:
    """A listing's items in page order, duplicates (an item repeated across pages) dropped."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._seen: set[str] = set()

    def add(self, page: Sequence[Any]) -> None:
        for item in page:
            key = _item_key(item)
            if key not in self._seen:
                self._seen.add(key)
                self.items.append(item)


def assemble_listing(
    provider: InstagramProvider, listing: str, raws: Sequence[RawResponse], max_items: int
) -> tuple[Any, ...]:
    """The items of stored listing pages, in page order, duplicates dropped, capped: what the
    live listing returned (a backfill re-parses with it)."""
    found = _Collected()
    for raw in raws:
        found.add(provider.parse_listing(listing, raw)[0])
    return tuple(found.items[: max(0, max_items)])


# --------------------------------------------------------------------------- the crawler


class InstagramCrawler(Crawler):
    FETCH_TYPES: ClassVar[Mapping[str, frozenset[str]]] = FETCH_TYPES
    DEFAULT_CHAINS: ClassVar[Mapping[str, Sequence[ChainEntry]]] = DEFAULT_CHAINS
    PROVIDERS: ClassVar[Mapping[str, InstagramProvider]] = PROVIDERS

    # -- public fetches -------------------------------------------------------------------------

    async def profile_with_posts(
        self,
        handle: str,
        max_posts: int | None = 50,
        max_age_days: float | None = 30,
    ) -> Fetched[ProfileWithPosts]:
        """The profile plus its recent posts (at most ``max_posts``, none older than
        ``max_age_days``; ``None`` lifts a limit), all from one provider."""
        clean = normalize_handle(handle)
        if max_posts is not None and max_posts < 0:
            raise BadInput("max_posts must be >= 0")

        async def attempt(
            provider: InstagramProvider, cred: Credential, base_url: str
        ) -> tuple[ProfileWithPosts, list[RawResponse]]:
            return await self._profile_on(provider, cred, base_url, clean, max_posts, max_age_days)

        return await self._fallback("profile_by_handle", attempt)

    async def post_by_shortcode(self, shortcode: str) -> Fetched[InstagramPost]:
        clean = normalize_shortcode(shortcode)

        async def attempt(
            provider: InstagramProvider, cred: Credential, base_url: str
        ) -> tuple[InstagramPost, list[RawResponse]]:
            request = provider.post_request(clean, cred, base_url)
            raw = await self._execute(provider.name, KIND_POST, request, cred)
            return provider.parse_post(raw), [raw]

        return await self._fallback("post_by_shortcode", attempt)

    async def followers(
        self, handle: str, cursor: FollowersCursor | None = None
    ) -> Fetched[FollowersPage]:
        """One page of ``handle``'s followers. The first page walks the ``followers`` chain
        (the weighted split); with a ``cursor`` the page comes from the cursor's provider only:
        a cursor is meaningless anywhere else."""
        clean = normalize_handle(handle)

        async def attempt(
            provider: InstagramProvider, cred: Credential, base_url: str
        ) -> tuple[FollowersPage, list[RawResponse]]:
            raws: list[RawResponse] = []
            if cursor is None:
                request = provider.profile_request(clean, cred, base_url)
                raws.append(await self._execute(provider.name, KIND_PROFILE, request, cred))
                profile, _, _ = provider.parse_profile(raws[0])
                token = None
            else:
                profile = InstagramProfile(profile_id=cursor.profile_id, handle=cursor.handle)
                token = cursor.token
            request = provider.followers_request(profile, token, cred, base_url)
            raws.append(await self._execute(provider.name, KIND_FOLLOWERS_PAGE, request, cred))
            found, following = provider.parse_followers(raws[-1])
            nxt = (
                FollowersCursor(provider.name, profile.profile_id, profile.handle, following)
                if following
                else None
            )
            return FollowersPage(tuple(found), nxt), raws

        if cursor is not None:
            return await self._on_provider(cursor.provider, "followers", attempt)
        return await self._fallback("followers", attempt)

    async def listing(self, listing: str, target: str, max_items: int) -> Fetched[tuple[Any, ...]]:
        """Up to ``max_items`` of a paged ``listing`` (followers, following, likes, comments)
        about ``target``: a profile id, or a shortcode for likes and comments. Every page
        comes from the provider that served the first; a later page's fault fails that
        provider and the listing starts again on the next one of the chain."""
        if listing not in LISTINGS:
            raise BadInput(f"unknown listing {listing!r}")
        by_post = listing in (FETCH_LIKES, FETCH_COMMENTS)
        target = normalize_shortcode(target) if by_post else target
        if listing == FETCH_HASHTAG:
            target = normalize_hashtag(target)
        elif not by_post and not target.isdigit():
            raise BadInput(f"invalid Instagram profile id {target[:40]!r}")
        kind = listing_kind(listing)

        async def attempt(
            provider: InstagramProvider, cred: Credential, base_url: str
        ) -> tuple[tuple[Any, ...], list[RawResponse]]:
            raws: list[RawResponse] = []
            found = _Collected()
            token: str | None = None
            followed: set[str | None] = set()
            while True:
                followed.add(token)
                request = provider.listing_request(listing, target, token, cred, base_url)
                raws.append(await self._execute(provider.name, kind, request, cred))
                page, token = provider.parse_listing(listing, raws[-1])
                found.add(page)
                done = token is None or token in followed or len(found.items) >= max_items
                if done or len(raws) >= MAX_LISTING_PAGES:
                    return tuple(found.items[: max(0, max_items)]), raws

        return await self._fallback(listing, attempt)

    async def profile_by_id(self, profile_id: str) -> Fetched[InstagramProfile]:
        """A profile by its numeric id (the ``profile_by_id`` chain), without posts."""
        if not profile_id.isdigit():
            raise BadInput(f"invalid Instagram profile id {profile_id[:40]!r}")

        async def attempt(
            provider: InstagramProvider, cred: Credential, base_url: str
        ) -> tuple[InstagramProfile, list[RawResponse]]:
            request = provider.profile_by_id_request(profile_id, cred, base_url)
            raw = await self._execute(provider.name, KIND_PROFILE_BY_ID, request, cred)
            return provider.parse_profile_by_id(raw), [raw]

        return await self._fallback("profile_by_id", attempt)

    async def post_insights(
        self, handle: str, media_id: str, shortcode: str, post_type: str
    ) -> Fetched[PostInsights]:
        """Lifetime insights of one post, with its creator's own Graph token."""
        clean = normalize_handle(handle)
        if not media_id.isdigit():
            raise BadInput(f"invalid Instagram media id {media_id[:40]!r}")

        async def attempt(
            provider: Any, cred: Credential, base_url: str
        ) -> tuple[PostInsights, list[RawResponse]]:
            request = insights.post_insights_request(
                media_id, post_type, cred, base_url, provider.version
            )
            raw = await self._execute(provider.name, insights.KIND_POST_INSIGHTS, request, cred)
            metrics = insights.parse_post_insights(raw)
            return PostInsights(shortcode, media_id, clean, post_type, metrics), [raw]

        return await self._fallback("post_insights", attempt, credential_handle=clean)

    async def story_insights(
        self, handle: str, story_id: str, shortcode: str
    ) -> Fetched[PostInsights]:
        """A story's counters and navigation (taps, exits, swipes), with its creator's token."""
        clean = normalize_handle(handle)
        if not story_id.isdigit():
            raise BadInput(f"invalid Instagram story id {story_id[:40]!r}")

        async def attempt(
            provider: Any, cred: Credential, base_url: str
        ) -> tuple[PostInsights, list[RawResponse]]:
            raws = []
            for request in insights.story_insights_requests(
                story_id, cred, base_url, provider.version
            ):
                kind = insights.KIND_STORY_INSIGHTS
                raws.append(await self._execute(provider.name, kind, request, cred))
            return insights.assemble_story_insights(story_id, shortcode, clean, raws), raws

        return await self._fallback("post_insights", attempt, credential_handle=clean)

    async def profile_insights(self, handle: str) -> Fetched[ProfileInsights]:
        """Follower, reached and engaged demographics of a creator (its own Graph token)."""
        clean = normalize_handle(handle)

        async def attempt(
            provider: Any, cred: Credential, base_url: str
        ) -> tuple[ProfileInsights, list[RawResponse]]:
            raws = []
            for _, _, request in insights.profile_insights_requests(
                cred, base_url, provider.version
            ):
                kind = insights.KIND_PROFILE_INSIGHTS
                raws.append(await self._execute(provider.name, kind, request, cred))
            user_id = str(cred.secret.get("user_id"))
            return insights.assemble_profile_insights(clean, user_id, raws), raws

        return await self._fallback("profile_insights", attempt, credential_handle=clean)

    async def stories_posts(self, handle: str) -> Fetched[ProfileWithPosts]:
        """A creator's profile, its media of the last 90 days (at most 150) and its current
        stories (after the media), with its own Graph token (``graph_stories``)."""
        clean = normalize_handle(handle)

        async def attempt(
            provider: Any, cred: Credential, base_url: str
        ) -> tuple[ProfileWithPosts, list[RawResponse]]:
            # The creator's own token: "not found" is final, no other account to ask.
            own = GraphStories(provider.page_size, provider.version, not_found_is_final=True)
            found, raws = await self._profile_on(
                own, cred, base_url, clean, stories.MAX_POSTS, stories.MAX_AGE_DAYS
            )
            return with_stories(found, own.parse_stories(raws[0])), raws

        return await self._fallback("stories_posts", attempt, credential_handle=clean)

    @staticmethod
    def reparse(
        raws: Sequence[RawResponse],
        *,
        providers: Mapping[str, InstagramProvider] = PROVIDERS,
        max_posts: int | None = 50,
        max_age_days: float | None = 30,
    ) -> ProfileWithPosts | InstagramPost:
        """The module-level ``reparse`` (no network, no instance needed:
        ``InstagramCrawler.reparse(raws)`` works)."""
        return _reparse(raws, providers=providers, max_posts=max_posts, max_age_days=max_age_days)

    # -- one provider -----------------------------------------------------------------------------

    async def _profile_on(
        self,
        provider: InstagramProvider,
        cred: Credential,
        base_url: str,
        handle: str,
        max_posts: int | None,
        max_age_days: float | None,
    ) -> tuple[ProfileWithPosts, list[RawResponse]]:
        raw = await self._execute(
            provider.name, KIND_PROFILE, provider.profile_request(handle, cred, base_url), cred
        )
        raws = [raw]
        profile, first_posts, cursor = provider.parse_profile(raw)
        cutoff = _cutoff(raw, max_age_days)
        pages: list[Sequence[InstagramPost]] = [first_posts]

        def enough() -> bool:
            seen = {post.shortcode for page in pages for post in page}
            # Without a `next` link (Graph often sends only `cursors.after`), having seen
            # media_count posts is what saves asking for a last, empty page.
            if profile.media_count is not None and len(seen) >= profile.media_count:
                return True
            if max_posts is None:
                return False
            got = assemble_profile(profile, pages, max_posts=None, cutoff=cutoff)
            return len(got.posts) >= max_posts

        if provider.profile_includes_posts:
            more = cursor is not None and not _page_says_stop(first_posts, cutoff)
        else:
            cursor = None
            more = profile.is_private is not True and profile.media_count != 0
        seen_cursors: set[str | None] = set()
        while more and not enough() and len(pages) <= MAX_PAGES:
            seen_cursors.add(cursor)
            request = provider.posts_request(profile, cursor, cred, base_url)
            page_raw = await self._execute(provider.name, KIND_POSTS_PAGE, request, cred)
            raws.append(page_raw)
            page, cursor = provider.parse_posts(page_raw)
            pages.append(page)
            more = (
                cursor is not None
                and cursor not in seen_cursors
                and bool(page)
                and not _page_says_stop(page, cutoff)
            )
        result = assemble_profile(profile, pages, max_posts=max_posts, cutoff=cutoff)
        return result, raws
