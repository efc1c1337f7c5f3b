"""The long paged Instagram flows (followers, ...): their own family, so a 2,000-follower
listing never holds up the profile refreshes queued behind it.

A listing pages on one provider to the original's cap; its raw pages are stored like any
response, and the re-parser rebuilds the same relationships from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from beat.pipeline.family import FamilyPipeline, FlowHandler, FlowOutcome, WriteContext
from beat.pipeline.instagram import observed_at
from beat.store.instagram_activity import upsert_relationships
from providers.crawler import InstagramCrawler, assemble_followers
from providers.http import RawResponse
from providers.instagram import PROVIDERS
from providers.model import InstagramFollower, ProfileRelationship

#: The original's caps.
MAX_FOLLOWERS = 2000

RELATIONSHIPS = "relationships"


def _followers_outcome(
    profile_id: str, followers: Sequence[InstagramFollower], provider: str, raw: tuple[Any, ...]
) -> FlowOutcome:
    subject = InstagramFollower(profile_id=profile_id, handle="")
    relationships = tuple(ProfileRelationship(source=f, target=subject) for f in followers)
    return FlowOutcome(provider, {RELATIONSHIPS: relationships}, raw)


async def fetch_profile_followers(crawler: InstagramCrawler, params: dict[str, Any]) -> FlowOutcome:
    fetched = await crawler.followers_by_id(params["profile_id"], MAX_FOLLOWERS)
    return _followers_outcome(
        params["profile_id"], fetched.value, fetched.provider, tuple(fetched.raw)
    )


HANDLERS: dict[str, FlowHandler] = {
    "fetch_profile_followers": fetch_profile_followers,
}


def write_activity(conn: Connection, outcomes: Sequence[FlowOutcome], ctx: WriteContext) -> None:
    sightings = []
    for outcome in outcomes:
        seen = observed_at(outcome.raw)
        sightings += [(rel, outcome.provider, seen) for rel in outcome.of(RELATIONSHIPS)]
    upsert_relationships(conn, sightings, rebuild=ctx.rebuild)


def reparse_activity(record: dict[str, Any]) -> FlowOutcome:
    raw = tuple(RawResponse.from_dict(item) for item in record["responses"])
    flow, params, name = record["flow"], record["params"], record["provider"]
    if flow == "fetch_profile_followers":
        followers = assemble_followers(PROVIDERS[name], raw, MAX_FOLLOWERS)
        return _followers_outcome(params["profile_id"], followers, name, raw)
    raise ValueError(f"no re-parser for flow {flow!r}")


def _profile_id_of(params: dict[str, Any]) -> str | None:
    value = params.get("profile_id")
    return value if isinstance(value, str) else None


PIPELINE = FamilyPipeline(
    family="instagram_activity",
    kinds=(RELATIONSHIPS,),
    handlers=HANDLERS,
    write=write_activity,
    reparse=reparse_activity,
    target_of=_profile_id_of,
)
