"""GPT enrichment throughput: PENDING -> COMPLETE through sensor and run, vs a bare loop.

FLOOR: a bare ``openai.AsyncOpenAI`` loop (same aiohttp-backed HTTP client, same messages,
``response_format`` and ``max_tokens``, ``json.loads`` of the answer), 64 concurrent: no
queue, no Dagster, no validation, no limiter, no storage.
OURS: ``refresh_instagram_gpt_data_gender_location_lang`` requests enqueued PENDING, then the
real ``gpt_batch_sensor`` ticks and its runs execute in-process (Dagster instance on SQLite
under a temp DAGSTER_HOME, app database PostgreSQL): every call through the credential pool
and the Redis limiter (request and token limits, raised for the sandbox), answers judged
against the prompt's schema, raw completions stored, rows, statuses and events written.
Both talk to one sandbox process over loopback HTTP, which answers after ``--latency-ms``
(real chat completions take 0.5-5 s; 0 makes both sides CPU-bound).

    python bench/gpt_bench.py [--requests 1000] [--latency-ms 100 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import openai

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import start_sandbox
from providers.llm import prompt_book, render
from sandbox import RATE_LIMITS_FILE, sandbox_credentials
from sandbox.openai import KEYS
from tests.support import scratch_postgres

FLOW = "refresh_instagram_gpt_data_gender_location_lang"
CONCURRENCY = 64


def profiles(count: int, tag: str) -> list[dict[str, str]]:
    return [
        {"handle": f"bench.{tag}.{i:05d}", "name": f"Creator {i}", "bio": "Food and travel"}
        for i in range(count)
    ]


async def run_floor(sandbox_url: str, items: list[dict[str, str]]) -> float:
    prompt = prompt_book().active("base_gender_location_lang")
    client = openai.AsyncOpenAI(
        base_url=f"{sandbox_url}/openai/v1", api_key=KEYS[0], max_retries=0,
        http_client=openai.DefaultAioHttpClient(),
    )  # fmt: skip
    gate = asyncio.Semaphore(CONCURRENCY)
    schema = {"name": prompt.name, "schema": prompt.schema, "strict": False}
    fmt = {"type": "json_schema", "json_schema": schema}

    async def one(item: dict[str, str]) -> None:
        async with gate:
            response = await client.chat.completions.create(
                model=prompt.model, messages=render(prompt, item),  # type: ignore[arg-type]
                temperature=0,
                max_tokens=prompt.max_tokens, response_format=fmt,  # type: ignore[arg-type]
            )  # fmt: skip
            json.loads(response.choices[0].message.content or "{}")

    started = time.perf_counter()
    await asyncio.gather(*(one(item) for item in items))
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


def run_ours(pg_url: str, sandbox_url: str, items: list[dict[str, str]]) -> tuple[float, int]:
    home = Path(tempfile.mkdtemp(prefix="beat-gpt-bench-"))
    (home / "dagster").mkdir()
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    deployment = home / "deployment.json"
    # The sandbox's plan is lifted (--no-quotas); so are the deployment's limits, which every
    # call still acquires (request and token limits in Redis, all or nothing).
    deployment.write_text(json.dumps({
        "name": "openai-sandbox", "base_url": f"{sandbox_url}/openai/v1",
        "requests_per_minute": 1_000_000, "tokens_per_minute": 500_000_000,
    }))  # fmt: skip
    os.environ.update(
        BEAT_HOME=str(home), BEAT_DATABASE_URL=pg_url, BEAT_SANDBOX_URL=sandbox_url,
        DAGSTER_HOME=str(home / "dagster"), BEAT_CONCURRENCY=str(CONCURRENCY),
        BEAT_GPT_DEPLOYMENT=str(deployment), BEAT_RATE_LIMITS=str(RATE_LIMITS_FILE),
        BEAT_REDIS_URL=os.environ.get("BEAT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        BEAT_MAX_INFLIGHT_BATCHES="1", BEAT_RELAY_AFTER_BATCH_SECONDS="0",
    )  # fmt: skip
    import dagster as dg

    from beat.config import load_settings
    from beat.flows import FAMILIES
    from beat.pipeline.gpt import gpt_request
    from beat.store.credentials import save_credentials
    from beat.store.db import make_engine, upgrade
    from beat.store.queue import RequestQueue
    from beat_dagster import driver
    from beat_dagster.definitions import build_definitions

    engine = make_engine(pg_url)
    upgrade(engine)
    save_credentials(engine, sandbox_credentials())
    queue = RequestQueue(engine)
    queue.enqueue_many([gpt_request(FLOW, item) for item in items])
    defs = build_definitions(load_settings())
    with dg.DagsterInstance.get() as instance:
        report = driver.drive_until_drained(
            defs, instance, queue, [FAMILIES["gpt"]], idle_sleep_seconds=0.05
        )
    complete = queue.count_by_status().get("COMPLETE", 0)
    engine.dispose()
    return report.seconds, report.runs if complete == len(items) else -1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[100.0, 500.0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for latency in args.latency_ms:
        measure(args.requests, latency, args.rounds)


def measure(requests: int, latency_ms: float, rounds: int) -> None:
    sandbox, url = start_sandbox("--no-quotas", "--latency-ms", str(latency_ms))
    floors, ours, ratios = [], [], []
    try:
        # Discarded passes: the first run in a process pays Dagster's and openai's imports
        # (a code server is warm), the first floor pass the connection set-up.
        asyncio.run(run_floor(url, profiles(200, "warm")))
        with scratch_postgres("beat_gpt_bench_warm") as pg_url:
            run_ours(pg_url, url, profiles(100, "warm"))
        for round_no in range(1, rounds + 1):
            items = profiles(requests, f"r{round_no}")
            floor_seconds = asyncio.run(run_floor(url, items))
            with scratch_postgres("beat_gpt_bench") as pg_url:
                ours_seconds, runs = run_ours(pg_url, url, items)
            if runs < 0:
                raise SystemExit("not every request completed")
            floors.append(requests / floor_seconds)
            ours.append(requests / ours_seconds)
            ratios.append(ours[-1] / floors[-1])
            print(f"round {round_no}: floor {floors[-1]:6.1f}/s  beat {ours[-1]:6.1f}/s "
                  f"({runs} batch runs)  ratio {ratios[-1]:.2f}", flush=True)  # fmt: skip
    finally:
        sandbox.terminate()
    print(f"{FLOW} x {requests}, {CONCURRENCY} concurrent, sandbox latency "
          f"{latency_ms:g} ms, PostgreSQL")  # fmt: skip
    print(f"  {'floor (bare AsyncOpenAI loop), median':44}{median(floors):8.1f} enrichments/s")
    print(f"  {'beat (sensor + batch runs), median':44}{median(ours):8.1f} enrichments/s")
    print(f"  {'ratio beat/floor, median of rounds':44}{median(ratios):8.2f}   (target >= 0.7)")
    print(flush=True)


if __name__ == "__main__":
    main()
