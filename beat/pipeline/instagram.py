"""What each Instagram profile/post flow does with the crawler, and how its result becomes rows.

Every flow is a pair: a handler (live fetch) and a re-parser (the same result from the stored
raw responses, no network), so a backfill rebuilds exactly what the live run wrote.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from beat.pipeline import instagram_insights
from beat.pipeline.family import (
    FamilyPipeline,
    FlowHandler,
    FlowOutcome,
    WriteContext,
    raw_responses,
)
from beat.pipeline.instagram_checks import HISTORY_CHECK
from beat.pipeline.media import enqueue_media
from beat.store.instagram import upsert_instagram
from providers.crawler import (
    Fetched,
    InstagramCrawler,
    answered_at,
    assemble_listing,
    reparse,
)
from providers.errors import ProviderError
from providers.http import RawResponse
from providers.instagram import PROVIDERS, graph_stories
from providers.instagram.base import listing_kind
from providers.instagram.graph_stories import GraphStories, with_stories
from providers.model import InstagramPost, ProfileWithPosts

# Posts of the last 30 days, at most 50, then about 10 reels, as in the original
# refresh_profile_by_handle.
MAX_POSTS = 50
MAX_POST_AGE_DAYS = 30
MAX_REELS = 10
REELS_KIND = listing_kind("reels")
#: A provider clock this far ahead of ours is wrong; trust when we received the answer.
CLOCK_SKEW_SECONDS = 300.0

PROFILES = "profiles"
POSTS = "posts"


def observed_at(raws: Sequence[RawResponse]) -> datetime:
    """When the provider answered (its Date header) with what an outcome holds.

    Stored with every row so a re-parse of old responses can never pass for a newer
    observation. A Date header from a clock running ahead is capped at our receive time."""
    if not raws:
        return datetime.now(UTC)
    first = raws[0]
    answered = answered_at(first) or first.fetched_at or time.time()
    if first.fetched_at and answered > first.fetched_at + CLOCK_SKEW_SECONDS:
        answered = first.fetched_at
    return datetime.fromtimestamp(answered, tz=UTC)


def outcome_from(value: Any, provider: str, raw: tuple[RawResponse, ...] = ()) -> FlowOutcome:
    """Turn a crawler value (fresh or re-parsed from raw responses) into rows."""
    if isinstance(value, ProfileWithPosts):
        return FlowOutcome(provider, {PROFILES: (value.profile,), POSTS: tuple(value.posts)}, raw)
    if isinstance(value, InstagramPost):
        return FlowOutcome(provider, {POSTS: (value,)}, raw)
    raise TypeError(f"unexpected crawler result {type(value).__name__}")


def _post_limits(flow: str, params: dict[str, Any]) -> tuple[int | None, float | None]:
    """(max_posts, max_age_days) of a profile flow: what the live fetch and its re-parse use."""
    if flow == "refresh_profile_basic":
        return 0, None
    if flow == "refresh_profile_custom":
        return int(params["max_posts"]), None
    return MAX_POSTS, MAX_POST_AGE_DAYS


def with_reels(found: ProfileWithPosts, reels: Sequence[InstagramPost]) -> ProfileWithPosts:
    """The profile's posts then its reels; a reel already among the posts fills in what the
    post lacked (plays and views, which Graph does not give) rather than repeating it."""
    profile = found.profile
    by_code = {
        reel.shortcode: reel.with_owner(profile.profile_id, profile.handle) for reel in reels
    }
    posts = [_filled(post, by_code.pop(post.shortcode, None)) for post in found.posts]
    return ProfileWithPosts(profile, (*posts, *by_code.values()))


def _filled(post: InstagramPost, other: InstagramPost | None) -> InstagramPost:
    if other is None:
        return post
    missing = {
        f.name: getattr(other, f.name) for f in fields(post) if getattr(post, f.name) is None
    }
    return replace(post, **missing)


async def _reels(crawler: InstagramCrawler, found: ProfileWithPosts) -> Fetched[Any] | None:
    """About 10 reels of the profile from the reels chain. A private account has none to show;
    a reels provider that fails leaves the profile and posts as they are (they stand alone)."""
    if found.profile.is_private or not found.profile.profile_id.isdigit():
        return None
    try:
        return await crawler.listing("reels", found.profile.profile_id, MAX_REELS)
    except ProviderError:
        return None


def _profile_handler(flow: str) -> FlowHandler:
    async def handler(crawler: InstagramCrawler, params: dict[str, Any]) -> FlowOutcome:
        max_posts, max_age_days = _post_limits(flow, params)
        fetched = await crawler.profile_with_posts(
            params["handle"], max_posts=max_posts, max_age_days=max_age_days
        )
        value, raw = fetched.value, tuple(fetched.raw)
        if flow == "refresh_profile_by_handle":
            reels = await _reels(crawler, value)
            if reels is not None:
                value, raw = with_reels(value, reels.value), raw + tuple(reels.raw)
        return outcome_from(value, fetched.provider, raw)

    handler.__name__ = flow
    return handler


async def refresh_post_by_shortcode(
    crawler: InstagramCrawler, params: dict[str, Any]
) -> FlowOutcome:
    fetched = await crawler.post_by_shortcode(params["shortcode"])
    return outcome_from(fetched.value, fetched.provider, tuple(fetched.raw))


async def refresh_tagged_posts_by_profile_id(
    crawler: InstagramCrawler, params: dict[str, Any]
) -> FlowOutcome:
    fetched = await crawler.listing("tagged", params["profile_id"], params["max_posts"])
    return FlowOutcome(fetched.provider, {POSTS: tuple(fetched.value)}, tuple(fetched.raw))


async def refresh_profile_by_profile_id(
    crawler: InstagramCrawler, params: dict[str, Any]
) -> FlowOutcome:
    fetched = await crawler.profile_by_id(params["profile_id"])
    return FlowOutcome(fetched.provider, {PROFILES: (fetched.value,)}, tuple(fetched.raw))


#: More than an account ever has up at once (stories last 24 hours).
MAX_STORIES = 200


def stories_with_stubs(
    stories: Sequence[InstagramPost], params: dict[str, Any]
) -> tuple[InstagramPost, ...]:
    """The stories found, owned by the asked account, then a stub post for each asked
    story id not among them (the original wrote those too, so a known story keeps a row)."""
    owner, handle = params["profile_id"], params["handle"].lower()
    found = [s.with_owner(owner, handle) for s in stories]
    seen = {s.shortcode for s in found}
    stubs = [
        InstagramPost(story_id, story_id, owner, handle, "story")
        for story_id in dict.fromkeys(params.get("story_ids") or [])
        if story_id not in seen
    ]
    return (*found, *stubs)


async def refresh_story_posts_by_profile_id(
    crawler: InstagramCrawler, params: dict[str, Any]
) -> FlowOutcome:
    fetched = await crawler.listing("story_posts", params["profile_id"], MAX_STORIES)
    posts = stories_with_stubs(fetched.value, params)
    return FlowOutcome(fetched.provider, {POSTS: posts}, tuple(fetched.raw))


async def refresh_stories_posts(crawler: InstagramCrawler, params: dict[str, Any]) -> FlowOutcome:
    """The creator's profile, own media (90 days or 150 posts) and current stories, through
    Graph with its own token."""
    fetched = await crawler.stories_posts(params["handle"])
    return outcome_from(fetched.value, fetched.provider, tuple(fetched.raw))


def reparse_stories_posts(raw: Sequence[RawResponse]) -> ProfileWithPosts:
    """The live result from its stored answers. They were asked with the stories edge, so
    `GraphStories` reads them, not the registry's plain graphapi."""
    own = GraphStories(not_found_is_final=True)
    found = reparse(
        raw, providers={own.name: own}, max_posts=graph_stories.MAX_POSTS,
        max_age_days=graph_stories.MAX_AGE_DAYS,
    )  # fmt: skip
    if not isinstance(found, ProfileWithPosts):
        raise TypeError("refresh_stories_posts answers hold no profile")
    return with_stories(found, own.parse_stories(raw[0]))


PROFILE_FLOWS = ("refresh_profile_by_handle", "refresh_profile_basic", "refresh_profile_custom")

#: The inline refresh of the API (beat/intake/refresh.py) runs this one directly.
refresh_profile_by_handle = _profile_handler("refresh_profile_by_handle")

HANDLERS: dict[str, FlowHandler] = {
    **{flow: _profile_handler(flow) for flow in PROFILE_FLOWS},
    "refresh_post_by_shortcode": refresh_post_by_shortcode,
    "refresh_tagged_posts_by_profile_id": refresh_tagged_posts_by_profile_id,
    "refresh_profile_by_profile_id": refresh_profile_by_profile_id,
    "refresh_story_posts_by_profile_id": refresh_story_posts_by_profile_id,
    "refresh_stories_posts": refresh_stories_posts,
    **instagram_insights.HANDLERS,
}


def write_instagram(conn: Connection, outcomes: Sequence[FlowOutcome], ctx: WriteContext) -> None:
    profiles, posts = [], []
    for outcome in outcomes:
        seen = observed_at(outcome.raw)
        profiles += [(profile, outcome.provider, seen) for profile in outcome.of(PROFILES)]
        posts += [(post, outcome.provider, seen) for post in outcome.of(POSTS)]
    upsert_instagram(conn, profiles, posts, rebuild=ctx.rebuild)
    instagram_insights.write_insights(conn, outcomes, ctx, observed_at)
    if ctx.enqueue_media and ctx.queue is not None:  # pictures and post media, to the media family
        media_posts = [m for p, _, _ in posts for m in (p, *carousel_media(p))]
        enqueue_media(ctx.queue, conn, [p for p, _, _ in profiles], media_posts)


def carousel_media(post: InstagramPost) -> list[InstagramPost]:
    """A carousel's children as media entities of their own (keyed by the child's media id),
    so each picture and video is stored like any post's media."""
    return [
        InstagramPost(
            shortcode=child.media_id,
            post_id=child.media_id,
            profile_id=post.profile_id,
            handle=post.handle,
            post_type="video" if child.media_type == "VIDEO" else "image",
            display_url=child.media_url or child.thumbnail_url,
            thumbnail_url=child.thumbnail_url,
        )
        for child in post.children
    ]


def reparse_instagram(record: dict[str, Any]) -> FlowOutcome:
    if record.get("flow") in instagram_insights.HANDLERS:
        return instagram_insights.reparse_insights(record)
    raw = raw_responses(record)
    if record.get("flow") == "refresh_profile_by_profile_id":
        profile = PROVIDERS[record["provider"]].parse_profile_by_id(raw[0])
        return FlowOutcome(record["provider"], {PROFILES: (profile,)}, raw)
    if record.get("flow") == "refresh_story_posts_by_profile_id":
        found = assemble_listing(PROVIDERS[record["provider"]], "story_posts", raw, MAX_STORIES)
        posts = stories_with_stubs(found, record["params"])
        return FlowOutcome(record["provider"], {POSTS: posts}, raw)
    if record.get("flow") == "refresh_stories_posts":
        return outcome_from(reparse_stories_posts(raw), record["provider"], raw)
    if record.get("flow") == "refresh_tagged_posts_by_profile_id":
        cap = record["params"]["max_posts"]
        posts = assemble_listing(PROVIDERS[record["provider"]], "tagged", raw, cap)
        return FlowOutcome(record["provider"], {POSTS: posts}, raw)
    max_posts, max_age_days = _post_limits(record.get("flow", ""), record.get("params") or {})
    reels = [r for r in raw if r.kind == REELS_KIND]
    value = reparse(
        [r for r in raw if r.kind != REELS_KIND], max_posts=max_posts, max_age_days=max_age_days
    )
    if reels and isinstance(value, ProfileWithPosts):
        value = with_reels(
            value, assemble_listing(PROVIDERS[reels[0].provider], "reels", reels, MAX_REELS)
        )
    return outcome_from(value, record["provider"], raw)


PIPELINE = FamilyPipeline(
    family="instagram",
    kinds=(PROFILES, POSTS, *instagram_insights.KINDS),
    handlers=HANDLERS,
    write=write_instagram,
    reparse=reparse_instagram,
    checks=(HISTORY_CHECK,),
)
