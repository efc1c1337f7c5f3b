"""Insights flows of the instagram family: a post's lifetime metrics and a creator's
audience, read with the creator's own Graph token (a credential whose handle is the creator).
Handlers, rows and the re-parser that rebuilds them from stored answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from beat.pipeline.family import FlowHandler, FlowOutcome, WriteContext, raw_responses
from beat.store.instagram_insights import upsert_post_insights, upsert_profile_insights
from providers.crawler import InstagramCrawler
from providers.http import RawResponse
from providers.instagram import graph_insights as insights

POST_INSIGHTS = "post_insights"
PROFILE_INSIGHTS = "profile_insights"
KINDS = (POST_INSIGHTS, PROFILE_INSIGHTS)


async def refresh_post_insights(crawler: InstagramCrawler, params: dict[str, Any]) -> FlowOutcome:
    fetched = await crawler.post_insights(
        params["handle"], params["post_id"], params["shortcode"], params["post_type"]
    )
    return FlowOutcome(fetched.provider, {POST_INSIGHTS: (fetched.value,)}, tuple(fetched.raw))


async def refresh_profile_insights(
    crawler: InstagramCrawler, params: dict[str, Any]
) -> FlowOutcome:
    fetched = await crawler.profile_insights(params["handle"])
    return FlowOutcome(fetched.provider, {PROFILE_INSIGHTS: (fetched.value,)}, tuple(fetched.raw))


async def refresh_story_insights(crawler: InstagramCrawler, params: dict[str, Any]) -> FlowOutcome:
    fetched = await crawler.story_insights(
        params["handle"], params["story_id"], params["shortcode"]
    )
    return FlowOutcome(fetched.provider, {POST_INSIGHTS: (fetched.value,)}, tuple(fetched.raw))


HANDLERS: dict[str, FlowHandler] = {
    "refresh_story_insights": refresh_story_insights,
    "refresh_post_insights": refresh_post_insights,
    "refresh_profile_insights": refresh_profile_insights,
}


def write_insights(
    conn: Connection, outcomes: Sequence[FlowOutcome], ctx: WriteContext, seen_of: Any
) -> None:
    """Rows of the insights outcomes; `seen_of` gives an outcome's observation time."""
    posts = [(i, o.provider, seen_of(o.raw)) for o in outcomes for i in o.of(POST_INSIGHTS)]
    profiles = [(i, o.provider, seen_of(o.raw)) for o in outcomes for i in o.of(PROFILE_INSIGHTS)]
    upsert_post_insights(conn, posts, rebuild=ctx.rebuild)
    upsert_profile_insights(conn, profiles, rebuild=ctx.rebuild)


def _graph_user_id(raw: RawResponse) -> str:
    # .../{version}/{user_id}/insights: the id the creator's token belongs to.
    path = raw.url_redacted.split("?", 1)[0].rstrip("/").split("/")
    return path[-2] if len(path) >= 2 else ""


def reparse_insights(record: dict[str, Any]) -> FlowOutcome:
    raw = raw_responses(record)
    params, provider = record["params"], record["provider"]
    if record["flow"] == "refresh_post_insights":
        found = insights.PostInsights(
            params["shortcode"], params["post_id"], params["handle"].lower(),
            params["post_type"], insights.parse_post_insights(raw[0]),
        )  # fmt: skip
        return FlowOutcome(provider, {POST_INSIGHTS: (found,)}, raw)
    handle = params["handle"].lower()
    if record["flow"] == "refresh_story_insights":
        story = insights.assemble_story_insights(
            params["story_id"], params["shortcode"], handle, list(raw)
        )
        return FlowOutcome(provider, {POST_INSIGHTS: (story,)}, raw)
    audience = insights.assemble_profile_insights(handle, _graph_user_id(raw[0]), list(raw))
    return FlowOutcome(provider, {PROFILE_INSIGHTS: (audience,)}, raw)
