"""The long paged Instagram flows (followers, following, likes, comments): their own family,
so a 2,000-follower listing never holds up the profile refreshes queued behind it.

A listing pages on one provider to the original's cap; its raw pages are stored like any
response, and the re-parser rebuilds the same rows from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from beat.pipeline.family import (
    FamilyPipeline,
    FlowHandler,
    FlowOutcome,
    WriteContext,
    raw_responses,
)
from beat.pipeline.instagram import observed_at
from beat.store.instagram import upsert_instagram
from beat.store.instagram_activity import (
    upsert_activities,
    upsert_hashtag_posts,
    upsert_relationships,
)
from providers.crawler import InstagramCrawler, assemble_listing
from providers.instagram import PROVIDERS
from providers.instagram.base import normalize_hashtag
from providers.model import InstagramComment, InstagramFollower, PostActivity, ProfileRelationship

RELATIONSHIPS = "relationships"
ACTIVITIES = "activities"
#: (hashtag, post) pairs of a hashtag listing; the posts go to instagram_post.
HASHTAG_POSTS = "hashtag_posts"


@dataclass(frozen=True)
class Listing:
    """A listing flow: what it lists, about which param, up to how many (the original's caps;
    `cap_param` lets a request ask for fewer)."""

    listing: str
    target_param: str
    cap: int
    cap_param: str | None = None

    def limit(self, params: dict[str, Any]) -> int:
        asked = params.get(self.cap_param) if self.cap_param else None
        return min(self.cap, asked) if isinstance(asked, int) else self.cap


LISTINGS: dict[str, Listing] = {
    "fetch_profile_followers": Listing("followers", "profile_id", 2000),
    "fetch_profile_following": Listing("following", "profile_id", 200),
    "fetch_post_likes": Listing("likes", "shortcode", 2000, "max_likes"),
    "fetch_post_comments": Listing("comments", "shortcode", 1000, "max_comments"),
    "fetch_hashtag_posts": Listing("hashtag", "hashtag", 1000, "max_posts"),
}


def _rows(listing: str, target: str, items: Sequence[Any]) -> dict[str, tuple[Any, ...]]:
    """A listing's items as rows: FOLLOWS pairs, or LIKE/COMMENT activities on a post."""
    if listing == "followers":  # each follower FOLLOWS the target
        subject = InstagramFollower(profile_id=target, handle="")
        return {RELATIONSHIPS: tuple(ProfileRelationship(f, subject) for f in items)}
    if listing == "following":  # the target FOLLOWS each listed account
        subject = InstagramFollower(profile_id=target, handle="")
        return {RELATIONSHIPS: tuple(ProfileRelationship(subject, f) for f in items)}
    if listing == "hashtag":
        tag = normalize_hashtag(target)
        return {HASHTAG_POSTS: tuple((tag, post) for post in items)}
    if listing == "likes":
        return {ACTIVITIES: tuple(PostActivity("LIKE", target, liker) for liker in items)}
    comments: Sequence[InstagramComment] = items
    return {ACTIVITIES: tuple(PostActivity("COMMENT", target, c.owner, c) for c in comments)}


def _handler(flow: str) -> FlowHandler:
    spec = LISTINGS[flow]

    async def handler(crawler: InstagramCrawler, params: dict[str, Any]) -> FlowOutcome:
        target = params[spec.target_param]
        fetched = await crawler.listing(spec.listing, target, spec.limit(params))
        rows = _rows(spec.listing, target, fetched.value)
        return FlowOutcome(fetched.provider, rows, tuple(fetched.raw))

    handler.__name__ = flow
    return handler


HANDLERS: dict[str, FlowHandler] = {flow: _handler(flow) for flow in LISTINGS}


def write_activity(conn: Connection, outcomes: Sequence[FlowOutcome], ctx: WriteContext) -> None:
    relationships, activities = [], []
    for outcome in outcomes:
        seen = observed_at(outcome.raw)
        relationships += [(r, outcome.provider, seen) for r in outcome.of(RELATIONSHIPS)]
        activities += [(a, outcome.provider, seen) for a in outcome.of(ACTIVITIES)]
    upsert_relationships(conn, relationships, rebuild=ctx.rebuild)
    upsert_activities(conn, activities, rebuild=ctx.rebuild)
    tagged = [
        (t, p, o.provider, observed_at(o.raw)) for o in outcomes for t, p in o.of(HASHTAG_POSTS)
    ]
    if tagged:
        # The posts are posts like any other (instagram_post, post_log events unless rebuilding).
        posts = [(post, provider, seen) for _, post, provider, seen in tagged]
        upsert_instagram(conn, [], posts, rebuild=ctx.rebuild)
        upsert_hashtag_posts(conn, [(t, p.shortcode, pr, s) for t, p, pr, s in tagged])


def reparse_activity(record: dict[str, Any]) -> FlowOutcome:
    raw = raw_responses(record)
    flow, params, name = record["flow"], record["params"], record["provider"]
    spec = LISTINGS.get(flow)
    if spec is None:
        raise ValueError(f"no re-parser for flow {flow!r}")
    items = assemble_listing(PROVIDERS[name], spec.listing, raw, spec.limit(params))
    return FlowOutcome(name, _rows(spec.listing, params[spec.target_param], items), raw)


def _target_of(params: dict[str, Any]) -> str | None:
    value = params.get("profile_id", params.get("shortcode", params.get("hashtag")))
    return value if isinstance(value, str) else None


PIPELINE = FamilyPipeline(
    family="instagram_activity",
    kinds=(RELATIONSHIPS, ACTIVITIES, HASHTAG_POSTS),
    handlers=HANDLERS,
    write=write_activity,
    reparse=reparse_activity,
    target_of=_target_of,
)
