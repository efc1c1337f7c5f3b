"""GPT enrichment end to end on PostgreSQL: requests from the HTTP API (and from the
enrichment sensor) through gpt_batch_sensor and runs against the sandbox's chat completions;
nothing asked twice; a new prompt version re-asks only what older versions produced."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import aiohttp
import dagster as dg
import pytest
from sqlalchemy import select

from beat.config import load_settings
from beat.flows import FAMILIES, flows_of_family
from beat.store.models import outbox, scrape_request_log
from beat.store.models_gpt import gpt_attribute
from beat.store.outbox import OutboxRow, messages
from beat_dagster.definitions import build_definitions
from beat_dagster.driver import QUIET_RUN_CONFIG, batch_metadata, drive_until_drained
from beat_dagster.partitions import today_partition_key
from beat_dagster.sensors.gpt import gpt_enrichment_sensor
from providers.llm import price_table, prompt_book
from providers.llm.prompts import PROMPTS_DIR
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

GPT = FAMILIES["gpt"]
HANDLES = ["asha.eats", "ravi.runs", "mystery.cook", "refuse.me", "verbose.vlog"]


def usage(stack: Stack) -> dict[str, int]:
    async def fetch() -> dict[str, int]:
        url = f"{stack.services.sandbox_url}/_sandbox/openai/usage"
        async with aiohttp.ClientSession() as session, session.get(url) as r:
            return await r.json()

    return asyncio.run(fetch())


def rows(stack: Stack) -> list:
    with stack.engine.connect() as conn:
        return conn.execute(select(gpt_attribute)).all()


def profile(handle: str) -> dict:
    return {"data": {"handle": handle, "name": handle.title(), "bio": "Food, travel and music",
                     "category": "Blogger"}}  # fmt: skip


def test_each_flow_end_to_end_with_exact_accounting(stack: Stack) -> None:
    for flow in flows_of_family("gpt"):
        stack.submit(flow, [profile(h) for h in HANDLES])
    defs = build_definitions(load_settings())
    metas = []
    with dg.DagsterInstance.get() as instance:
        report = drive_until_drained(
            defs, instance, stack.queue, [GPT], on_run=lambda r, res: metas.append(batch_metadata(res))
        )  # fmt: skip
    assert report.runs >= 1
    assert stack.statuses() == {"COMPLETE": 6 * len(HANDLES)}
    stored = rows(stack)
    assert len(stored) == 6 * len(HANDLES)
    by_status = Counter(r.status for r in stored)
    assert by_status == {"ok": 6 * 3, "refused": 6, "truncated": 6}
    assert {r.reason.split(":")[0] for r in stored if r.status != "ok"} == {"refused", "truncated"}
    assert all(r.prompt_version == "v1" and r.model == "gpt-4o-mini-2024-07-18" for r in stored)
    mystery = [r for r in stored if r.handle == "mystery.cook" and r.prompt == "base_location"]
    assert mystery[0].asks == 2 and mystery[0].attributes["city"] != "UNKNOWN"

    # Tokens and cost stored equal what the endpoint billed, exactly.
    used = usage(stack)
    assert sum(r.asks for r in stored) == used["requests"]
    assert sum(r.prompt_tokens for r in stored) == used["prompt_tokens"]
    assert sum(r.completion_tokens for r in stored) == used["completion_tokens"]
    billed = price_table().cost("gpt-4o-mini", used["prompt_tokens"], used["completion_tokens"])
    assert sum((r.cost_usd for r in stored), Decimal(0)) == billed

    # What the operator reads: each run's batch check carries its tokens, cost and unusable
    # answers by prompt; each partition, the day's, read back from the table.
    batches = [m[key] for m in metas for key in m if key.endswith("_batch")]
    assert sum(b["prompt_tokens"] for b in batches) == used["prompt_tokens"]
    assert sum(b["failures_by_reason"].get("refused", 0) for b in batches) == 6
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("gpt_base_gender"))
    assert event is not None and event.asset_materialization is not None
    day = {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}
    gender = [r for r in stored if r.prompt == "base_gender"]
    assert day["day_answers"] == len(gender)
    assert day["day_prompt_tokens"] == sum(r.prompt_tokens for r in gender)
    assert Decimal(day["day_cost_usd"]) == sum((r.cost_usd for r in gender), Decimal(0))
    assert day["day_unusable_answers"] == {"refused": 1, "truncated": 1}

    # Usable answers go out as the original's profile_log_events.
    with stack.engine.connect() as conn:
        written = [OutboxRow.from_row(r) for r in conn.execute(select(outbox)).mappings()]
    events = [m.payload for m in messages(written) if m.routing_key == "profile_log_events"]
    assert len(events) == by_status["ok"]
    sources = {e["source"] for e in events}
    assert "openapi_base_gender_v1" in sources
    assert all(len(e["event_timestamp"]) == 19 for e in events)  # YYYY-MM-DD HH:MM:SS


def test_nothing_is_asked_again_when_nothing_changed(stack: Stack) -> None:
    flow = "refresh_instagram_gpt_data_base_gender"
    stack.submit(flow, [profile(h) for h in HANDLES[:3]])
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [GPT])
        before = usage(stack)
        # The same profiles again, under new request ids (no idempotency key): the run finds
        # the answers of this input and prompt version and asks nothing.
        stack.submit(flow, [profile(h) for h in HANDLES[:3]])
        drive_until_drained(defs, instance, stack.queue, [GPT])
    assert usage(stack) == before
    assert len(rows(stack)) == 3
    with stack.engine.connect() as conn:
        providers = conn.execute(select(scrape_request_log.c.provider)).scalars().all()
    assert Counter(providers) == {"openai-sandbox": 3, "unchanged": 3}


def test_scraped_profiles_are_enriched_by_the_sensor(stack: Stack, monkeypatch) -> None:
    monkeypatch.setenv("BEAT_GPT_AUTO_FLOWS", "refresh_instagram_gpt_data_gender_location_lang")
    stack.submit("refresh_profile_by_handle", [{"handle": f"creator.{i:04d}"} for i in range(6)])
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [FAMILIES["instagram"]])

        def tick(cursor: str | None) -> tuple[str | None, str]:
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, resources=defs.resources
            ) as context:
                result = gpt_enrichment_sensor(context)
                return context.cursor, str(result.skip_message)

        cursor, message = tick(None)
        assert "6 GPT requests queued" in message
        assert tick(cursor)[1] == "no new or changed Instagram profiles"
        assert "0 GPT requests queued (6 already asked" in tick(None)[1]  # same keys: no-op
        drive_until_drained(defs, instance, stack.queue, [GPT])

        # A deployment nobody holds a key for: nothing is queued, and the tick says why.
        other = stack.home / "deployment.json"
        other.write_text('{"name": "azure-prod", "base_url": "https://example.invalid/v1"}')
        monkeypatch.setenv("BEAT_GPT_DEPLOYMENT", str(other))
        assert "no API key for GPT deployment 'azure-prod'" in tick(None)[1]
    stored = rows(stack)
    assert len(stored) == 6 and {r.status for r in stored} == {"ok"}
    assert {r.prompt for r in stored} == {"base_gender_location_lang"}


def test_new_prompt_version_backfill_reasks_only_older_rows(
    stack: Stack, tmp_path: Path, monkeypatch
) -> None:
    plain = ["asha.eats", "ravi.runs", "kiran.sings"]  # one ask each
    stack.submit("refresh_instagram_gpt_data_base_gender", [profile(h) for h in plain])
    stack.submit("refresh_instagram_gpt_data_base_location", [profile(h) for h in plain])
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        drive_until_drained(defs, instance, stack.queue, [GPT])
        asked_before = usage(stack)["requests"]

        # A new version of base_gender (the old file stays).
        prompts = tmp_path / "prompts"
        shutil.copytree(PROMPTS_DIR, prompts)
        v1 = prompts / "base_gender" / "v1.yaml"
        v1.with_name("v2.yaml").write_text(
            v1.read_text().replace("version: v1", "version: v2").replace(
                "What is the creator's gender", "Which gender does the creator present as")
        )  # fmt: skip
        monkeypatch.setenv("BEAT_GPT_PROMPTS", str(prompts))
        from beat_dagster.assets.gpt import gpt_specs

        assert gpt_specs()["base_gender"].code_version == "v2"  # the UI shows it changed
        assert gpt_specs()["base_location"].code_version == "v1"

        # The backfill of today: re-parse stored completions (no call) and queue re-asks for
        # the rows v1 produced, and only those.
        job = defs.resolve_job_def(GPT.job_name)
        result = job.execute_in_process(
            run_config=QUIET_RUN_CONFIG, instance=instance, partition_key=today_partition_key()
        )
        assert result.success
        assert usage(stack)["requests"] == asked_before
        with stack.engine.connect() as conn:
            pending = (
                conn.execute(
                    select(scrape_request_log.c.flow).where(
                        scrape_request_log.c.status == "PENDING"
                    )
                )
                .scalars()
                .all()
            )
        assert pending == ["refresh_instagram_gpt_data_base_gender"] * 3

        drive_until_drained(defs, instance, stack.queue, [GPT])
        assert usage(stack)["requests"] == asked_before + 3
    versions = Counter((r.prompt, r.prompt_version) for r in rows(stack))
    assert versions == {("base_gender", "v1"): 3, ("base_gender", "v2"): 3,
                        ("base_location", "v1"): 3}  # fmt: skip
    assert prompt_book(prompts).get("base_gender@v1").version == "v1"
