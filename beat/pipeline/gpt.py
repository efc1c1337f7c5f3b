"""What each GPT flow does with the GPT crawler, and how its answers become rows.

A flow asks its prompt's newest version about one profile (re-asking for fields still empty
or UNKNOWN), unless this exact input was already answered by this prompt version. Every
answer the endpoint gave is a result, stored with its status: ``ok`` rows carry attributes;
``refused``, ``truncated``, ``filtered``, ``malformed`` and ``incomplete`` rows say why not.
The request completes either way (the endpoint answered); transport faults (429, 5xx,
timeouts) retry through the queue.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from beat.flows import FLOWS, flows_of_family
from beat.pipeline.family import (
    FamilyPipeline,
    FlowHandler,
    FlowOutcome,
    WriteContext,
    raw_responses,
)
from beat.store.gpt import day_metadata, upsert_gpt_attributes
from beat.store.queue import NewRequest
from providers.llm import Asked, GptCrawler, Prompt, price_table, prompt_book, replay
from providers.llm.client import KIND_PREFIX

FAMILY = "gpt"
PLATFORM = "INSTAGRAM"
#: The provider an outcome names when nothing was asked (input and prompt version unchanged).
UNCHANGED = "unchanged"


@dataclass(frozen=True)
class GptResult:
    """One profile's answer to one prompt version, and what asking cost."""

    flow: str
    prompt: str
    prompt_version: str
    handle: str
    input_hash: str
    data: Mapping[str, Any]
    status: str
    reason: str
    attributes: Mapping[str, Any]
    deployment: str
    model: str
    asks: int
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal | None
    answered_at: datetime


def prompt_of_flow(flow: str) -> str:
    return FLOWS[flow].fetch_type


def input_hash(prompt: Prompt, data: Mapping[str, Any]) -> str:
    """SHA-256 of the profile fields this prompt's templates read: a change elsewhere (a
    category, for a prompt that ignores it) does not make the answer stale."""
    used = {
        key: data.get(key) or ""
        for key in ("handle", "name", "bio", "category")
        if "{" + key + "}" in prompt.user or "{" + key + "}" in prompt.system
    }
    return hashlib.sha256(json.dumps(used, sort_keys=True).encode()).hexdigest()


def idempotency_key(flow: str, prompt: Prompt, data: Mapping[str, Any]) -> str:
    """One request per profile, prompt version and input: asking twice is a no-op."""
    return f"gpt:{flow}:{data['handle']}:{prompt.version}:{input_hash(prompt, data)[:24]}"


def gpt_request(flow: str, data: Mapping[str, Any], *, source: str | None = None) -> NewRequest:
    prompt = prompt_book().active(prompt_of_flow(flow))
    profile = {k: data.get(k) for k in ("handle", "name", "bio", "category") if data.get(k)}
    return NewRequest(
        flow,
        PLATFORM,
        {"data": profile},
        idempotency_key=idempotency_key(flow, prompt, profile),
        source=source,
    )


def result_of(flow: str, data: Mapping[str, Any], asked: Asked) -> GptResult:
    last = asked.raw[-1]
    reason = "; ".join(r for r in (asked.verdict.reason, asked.note) if r)
    return GptResult(
        flow=flow,
        prompt=asked.prompt.name,
        prompt_version=asked.prompt.version,
        handle=str(data["handle"]),
        input_hash=input_hash(asked.prompt, data),
        data=dict(data),
        status=asked.verdict.status,
        reason=reason,
        attributes=asked.verdict.answer,
        deployment=last.provider,
        model=asked.model,
        asks=asked.asks,
        prompt_tokens=asked.prompt_tokens,
        completion_tokens=asked.completion_tokens,
        cost=asked.cost,
        answered_at=datetime.fromtimestamp(last.fetched_at, UTC),
    )


#: (prompt name, version, handle, input hash) -> already answered? (set per run by the crawler)
AnsweredLookup = Callable[[str, str, str, str], bool]


def _handler(flow: str) -> FlowHandler:
    async def ask(crawler: GptCrawler, params: dict[str, Any]) -> FlowOutcome:
        data = params["data"]
        prompt = prompt_book().active(prompt_of_flow(flow))
        answered: AnsweredLookup | None = getattr(crawler, "answered", None)
        key = (prompt.name, prompt.version, data["handle"], input_hash(prompt, data))
        if answered is not None and await asyncio.to_thread(answered, *key):
            return FlowOutcome(UNCHANGED)
        asked = await crawler.ask(prompt, data)
        return FlowOutcome(crawler.deployment.name, {prompt.name: (result_of(flow, data, asked),)},
                           asked.raw)  # fmt: skip

    ask.__name__ = flow
    return ask


HANDLERS: dict[str, FlowHandler] = {flow: _handler(flow) for flow in flows_of_family(FAMILY)}
KINDS = tuple(sorted({prompt_of_flow(flow) for flow in HANDLERS}))


def reparse_gpt(record: dict[str, Any]) -> FlowOutcome:
    """A stored record back into its result with the prompt version that produced it."""
    raws = raw_responses(record)
    if not raws:
        return FlowOutcome(record["provider"])
    prompt = prompt_book().get(raws[0].kind.removeprefix(KIND_PREFIX))
    asked = replay(prompt, raws, price_table())
    result = result_of(record["flow"], record["params"]["data"], asked)
    return FlowOutcome(record["provider"], {prompt.name: (result,)}, raws)


def write_gpt(conn: Connection, outcomes: Sequence[FlowOutcome], ctx: WriteContext) -> None:
    results = [r for o in outcomes for kind in KINDS for r in o.of(kind)]
    upsert_gpt_attributes(conn, results, publish=not ctx.rebuild)
    if ctx.rebuild and ctx.queue is not None:
        stale = reask_requests(results)
        if stale:
            ctx.queue.enqueue_many(stale, conn=conn)


def reask_requests(results: Sequence[GptResult]) -> list[NewRequest]:
    """Re-asks for results an older prompt version produced (a backfill after a new version):
    keyed like the sensor's requests, so a profile already asked anew is not asked again."""
    book = prompt_book()
    return [
        gpt_request(r.flow, r.data, source="gpt-backfill")
        for r in results
        if r.prompt_version != book.active(r.prompt).version
    ]


def tally_gpt(details: dict[str, dict[str, Any]], outcomes: Sequence[FlowOutcome]) -> None:
    """Per asset (prompt): answers, failures by reason, tokens, cost, versions, re-asks."""
    book = prompt_book()
    for outcome in outcomes:
        for kind in KINDS:
            for r in outcome.of(kind):
                d = details.setdefault(kind, _empty_detail(book.active(kind).version))
                d["answers"] += 1
                if r.status != "ok":
                    d["failures_by_reason"][r.status] = d["failures_by_reason"].get(r.status, 0) + 1
                d["reasks"] += r.asks - 1
                d["prompt_tokens"] += r.prompt_tokens
                d["completion_tokens"] += r.completion_tokens
                d["cost_usd"] = str(Decimal(d["cost_usd"]) + (r.cost or 0))
                d["answered_by_version"][r.prompt_version] = (
                    d["answered_by_version"].get(r.prompt_version, 0) + 1
                )
                d["models"][r.model] = d["models"].get(r.model, 0) + 1


def _empty_detail(version: str) -> dict[str, Any]:
    return {
        "prompt_version": version,
        "answers": 0,
        "failures_by_reason": {},
        "reasks": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": "0",
        "answered_by_version": {},
        "models": {},
    }


PIPELINE = FamilyPipeline(
    family=FAMILY,
    kinds=KINDS,
    handlers=HANDLERS,
    write=write_gpt,
    reparse=reparse_gpt,
    target_of=lambda params: None,  # no per-handle scrape limit: the deployment's limits apply
    tally=tally_gpt,
    day_metadata=day_metadata,
)
