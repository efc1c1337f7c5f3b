"""What each Instagram flow does with the crawler, and how its result becomes rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from beat.pipeline.family import FamilyPipeline, FlowHandler, FlowOutcome, WriteContext
from beat.pipeline.media import enqueue_media
from beat.store.instagram import upsert_instagram
from providers.crawler import InstagramCrawler, reparse
from providers.http import RawResponse
from providers.model import InstagramPost, ProfileWithPosts

# Posts of the last 30 days, at most 50, as in the original refresh_profile_by_handle.
MAX_POSTS = 50
MAX_POST_AGE_DAYS = 30

PROFILES = "profiles"
POSTS = "posts"


def outcome_from(value: Any, provider: str, raw: tuple[RawResponse, ...] = ()) -> FlowOutcome:
    """Turn a crawler value (fresh or re-parsed from raw responses) into rows."""
    if isinstance(value, ProfileWithPosts):
        return FlowOutcome(provider, {PROFILES: (value.profile,), POSTS: tuple(value.posts)}, raw)
    if isinstance(value, InstagramPost):
        return FlowOutcome(provider, {POSTS: (value,)}, raw)
    raise TypeError(f"unexpected crawler result {type(value).__name__}")


async def refresh_profile_by_handle(
    crawler: InstagramCrawler, params: dict[str, Any]
) -> FlowOutcome:
    fetched = await crawler.profile_with_posts(
        params["handle"], max_posts=MAX_POSTS, max_age_days=MAX_POST_AGE_DAYS
    )
    return outcome_from(fetched.value, fetched.provider, tuple(fetched.raw))


async def refresh_post_by_shortcode(
    crawler: InstagramCrawler, params: dict[str, Any]
) -> FlowOutcome:
    fetched = await crawler.post_by_shortcode(params["shortcode"])
    return outcome_from(fetched.value, fetched.provider, tuple(fetched.raw))


HANDLERS: dict[str, FlowHandler] = {
    "refresh_profile_by_handle": refresh_profile_by_handle,
    "refresh_post_by_shortcode": refresh_post_by_shortcode,
}


def write_instagram(conn: Connection, outcomes: Sequence[FlowOutcome], ctx: WriteContext) -> None:
    profiles = [(profile, o.provider) for o in outcomes for profile in o.of(PROFILES)]
    posts = [(post, o.provider) for o in outcomes for post in o.of(POSTS)]
    upsert_instagram(conn, profiles, posts)
    if ctx.enqueue_media and ctx.queue is not None:  # pictures and post media, to the media family
        enqueue_media(ctx.queue, conn, [p for p, _ in profiles], [p for p, _ in posts])


def reparse_instagram(record: dict[str, Any]) -> FlowOutcome:
    raw = tuple(RawResponse.from_dict(item) for item in record["responses"])
    return outcome_from(reparse(raw), record["provider"], raw)


PIPELINE = FamilyPipeline(
    family="instagram",
    kinds=(PROFILES, POSTS),
    handlers=HANDLERS,
    write=write_instagram,
    reparse=reparse_instagram,
)
