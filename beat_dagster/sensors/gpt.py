"""Enrichment without anyone asking: profiles new or changed since the cursor get GPT
requests queued (the ``gpt_batch_sensor`` then claims and runs them like any batch).

A request's idempotency key is profile + prompt version + input hash, so a profile refreshed
with the same name and bio queues nothing; a new bio or a new prompt version queues a new ask.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import Engine, and_, or_, select

from beat.flows import flows_of_family
from beat.pipeline.gpt import gpt_request
from beat.store.models import credential, instagram_account
from beat.store.queue import NewRequest
from beat_dagster.resources import DatabaseResource
from providers.llm import load_deployment

#: Profiles read per tick; the cursor walks on, so a large backlog takes several ticks.
PROFILES_PER_TICK = 2000


def auto_flows() -> list[str]:
    """``BEAT_GPT_AUTO_FLOWS`` (comma-separated), default every GPT flow; empty turns it off."""
    chosen = os.environ.get("BEAT_GPT_AUTO_FLOWS")
    if chosen is None:
        return flows_of_family("gpt")
    return [flow.strip() for flow in chosen.split(",") if flow.strip()]


def profiles_since(
    engine: Engine, cursor: str | None, limit: int = PROFILES_PER_TICK
) -> tuple[list[dict[str, str | None]], str | None]:
    """Profiles updated after ``cursor`` ("<updated_at iso>|<id>"), oldest first."""
    c = instagram_account.c
    query = select(c.id, c.handle, c.full_name, c.biography, c.category, c.updated_at)
    if cursor:
        stamp, _, last_id = cursor.partition("|")
        since = datetime.fromisoformat(stamp)
        query = query.where(
            or_(c.updated_at > since, and_(c.updated_at == since, c.id > int(last_id)))
        )
    query = query.where(c.handle.is_not(None)).order_by(c.updated_at, c.id).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        return [], cursor
    last = rows[-1]
    profiles = [
        {"handle": r.handle, "name": r.full_name, "bio": r.biography, "category": r.category}
        for r in rows
    ]
    stamp = last.updated_at.astimezone(UTC).isoformat()
    return profiles, f"{stamp}|{last.id}"


def has_credential(engine: Engine, deployment: str) -> bool:
    c = credential.c
    query = select(c.id).where(c.source == deployment, c.enabled.is_(True)).limit(1)
    with engine.connect() as conn:
        return conn.execute(query).first() is not None


def enrichment_requests(
    profiles: Sequence[dict[str, str | None]], flows: Sequence[str], source: str | None = None
) -> list[NewRequest]:
    """One request per profile and flow (flows needing a category skip profiles without)."""
    requests = []
    for profile in profiles:
        for flow in flows:
            if flow.endswith("_audience_age_gender") and not profile.get("category"):
                continue
            requests.append(gpt_request(flow, profile, source=source))
    return requests


@dg.sensor(
    name="gpt_enrichment_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Queues GPT requests for Instagram profiles new or changed since its cursor "
    "(key: profile + prompt version + input hash); gpt_batch_sensor runs them.",
)
def gpt_enrichment_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource
) -> dg.SkipReason:
    flows = auto_flows()
    if not flows:
        return dg.SkipReason("BEAT_GPT_AUTO_FLOWS is empty: automatic enrichment is off")
    deployment = load_deployment().name
    if not has_credential(database.engine(), deployment):
        # Queuing work nobody can do would only fail every request after its attempts.
        return dg.SkipReason(
            f"no API key for GPT deployment {deployment!r} in the credential pool "
            f"(beat credentials add {deployment}); profiles are not queued"
        )
    profiles, cursor = profiles_since(database.engine(), context.cursor)
    if not profiles:
        return dg.SkipReason("no new or changed Instagram profiles")
    queued = database.queue().enqueue_many(enrichment_requests(profiles, flows, "gpt-sensor"))
    created = sum(1 for q in queued if q.created)
    context.update_cursor(cursor)
    return dg.SkipReason(
        f"{len(profiles)} profiles seen, {created} GPT requests queued "
        f"({len(queued) - created} already asked for this input and prompt version)"
    )
