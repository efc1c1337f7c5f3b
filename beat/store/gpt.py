"""GPT attribute rows: upserted per (profile, prompt version, input), published as the
original's ``profile_log_events`` (source ``openapi_<prompt>_<version>``, profile_id = the
handle) when a fresh answer is usable."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, and_, func, select

from beat.events import formats
from beat.store.db import dialect_insert
from beat.store.models_gpt import gpt_attribute
from beat.store.outbox import EXCHANGE, OutboxEvent, write_events

if TYPE_CHECKING:
    from beat.pipeline.gpt import GptResult

KEY = ("platform", "handle", "prompt", "prompt_version", "input_hash")
UPDATED = (
    "flow", "status", "reason", "attributes", "deployment", "model", "asks", "prompt_tokens",
    "completion_tokens", "cost_usd", "answered_at", "updated_at",
)  # fmt: skip


def row_of(result: GptResult, now: datetime) -> dict[str, Any]:
    return {
        "platform": "INSTAGRAM",
        "handle": result.handle,
        "flow": result.flow,
        "prompt": result.prompt,
        "prompt_version": result.prompt_version,
        "input_hash": result.input_hash,
        "status": result.status,
        "reason": result.reason or None,
        "attributes": dict(result.attributes) or None,
        "deployment": result.deployment,
        "model": result.model,
        "asks": result.asks,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "cost_usd": result.cost,
        "answered_at": result.answered_at,
        "created_at": now,
        "updated_at": now,
    }


def upsert_gpt_attributes(
    conn: Connection, results: Sequence[GptResult], *, publish: bool = True
) -> None:
    if not results:
        return
    now = datetime.now(UTC)
    # One row per key within a statement (PostgreSQL refuses to update a row twice).
    rows = list({tuple(r[k] for k in KEY): r for r in (row_of(x, now) for x in results)}.values())
    stmt = dialect_insert(conn, gpt_attribute)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=list(KEY), set_={name: stmt.excluded[name] for name in UPDATED}
        ),
        rows,
    )
    if publish:
        write_events(conn, [profile_event(r) for r in results if r.status == "ok"])


def profile_event(result: GptResult) -> OutboxEvent:
    event_id = str(uuid.uuid4())
    metrics, dimensions = flatten_answer(result.attributes)
    payload = {
        "event_id": event_id,
        "source": f"openapi_{result.prompt}_{result.prompt_version}",
        "platform": "INSTAGRAM",
        "profile_id": result.handle,
        "handle": result.handle,
        "event_timestamp": formats.event_time(result.answered_at),
        "metrics": metrics,
        "dimensions": dimensions,
    }
    return OutboxEvent(event_id, EXCHANGE, "profile_log_events", payload)


def flatten_answer(answer: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    """Audience shares become metrics (``audience_cities.Mumbai``); text becomes dimensions
    (lists joined with commas)."""
    metrics: dict[str, float] = {}
    dimensions: dict[str, str] = {}
    for key, value in answer.items():
        if key == "audience" and isinstance(value, dict):
            for block, shares in value.items():
                for name, share in (shares or {}).items():
                    metrics[f"audience_{block}.{name}"] = float(share)
        elif isinstance(value, list):
            dimensions[key] = ",".join(str(v) for v in value)
        elif value is not None and key != "handle":
            dimensions[key] = str(value)
    return metrics, dimensions


def day_metadata(engine: Engine, day: date) -> dict[str, dict[str, Any]]:
    """Per prompt, what was answered on this UTC day (by ``answered_at``): answers, failures
    by reason, re-asks, tokens, cost, prompt versions and models; read from the table, so a
    partition shows its day whichever runs did the work."""
    from beat.pipeline.daily import day_bounds

    c = gpt_attribute.c
    start, end = day_bounds(day)
    query = (
        select(
            c.prompt,
            c.prompt_version,
            c.status,
            c.model,
            func.count(),
            func.sum(c.asks),
            func.sum(c.prompt_tokens),
            func.sum(c.completion_tokens),
            func.sum(c.cost_usd),
        )
        .where(c.answered_at >= start, c.answered_at < end)
        .group_by(c.prompt, c.prompt_version, c.status, c.model)
    )
    with engine.connect() as conn:
        groups = conn.execute(query).all()
    out: dict[str, dict[str, Any]] = {}
    for prompt, version, status, model, count, asks, p_tokens, c_tokens, cost in groups:
        d = out.setdefault(prompt, {
            "day_answers": 0, "day_unusable_answers": {}, "day_reasks": 0,
            "day_prompt_tokens": 0, "day_completion_tokens": 0, "day_cost_usd": Decimal(0),
            "day_answered_by_version": {}, "day_models": {},
        })  # fmt: skip
        d["day_answers"] += count
        if status != "ok":
            d["day_unusable_answers"][status] = d["day_unusable_answers"].get(status, 0) + count
        d["day_reasks"] += int(asks or 0) - count
        d["day_prompt_tokens"] += int(p_tokens or 0)
        d["day_completion_tokens"] += int(c_tokens or 0)
        d["day_cost_usd"] += Decimal(cost or 0)
        versions = d["day_answered_by_version"]
        versions[version] = versions.get(version, 0) + count
        d["day_models"][model] = d["day_models"].get(model, 0) + count
    for d in out.values():
        d["day_cost_usd"] = str(d["day_cost_usd"])  # exact: a float would round it
    return out


def answered_lookup(engine: Engine) -> Callable[[str, str, str, str], bool]:
    """(prompt, version, handle, input hash) -> whether a row exists: asking again would
    only repeat the answer (temperature 0) and its cost."""

    def answered(prompt: str, version: str, handle: str, digest: str) -> bool:
        c = gpt_attribute.c
        query = select(c.id).where(
            and_(
                c.platform == "INSTAGRAM",
                c.handle == handle,
                c.prompt == prompt,
                c.prompt_version == version,
                c.input_hash == digest,
            )
        )
        with engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    return answered
