"""fetch_profile_followers paging: 2,000 followers of one account, vs bare aiohttp.

FLOOR: bare aiohttp GETs of the same JoTucker followers pages (50 a page, following
``end_cursor``), each body decoded with json.loads: the paging alone.
OURS: the crawler's listing as the flow runs it (``InstagramCrawler.listing``: credential pick,
rate-limit hook, body cap, secret scrubbing, the JoTucker parser into the model, dedup, the
2,000 cap), then the relationship rows and their events written to PostgreSQL in one
transaction (timed separately: the floor writes nothing).
Both talk to one sandbox process over loopback HTTP; each round lists the same account.

    python bench/followers_bench.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from statistics import median

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from beat.pipeline.family import WriteContext
from beat.pipeline.instagram_activity import HANDLERS, PIPELINE
from bench.support import start_sandbox
from providers.crawler import InstagramCrawler
from providers.credentials import StaticCredentials
from sandbox import sandbox_credentials
from tests.support import scratch_postgres

TARGET = "fans.of.1"  # a sandbox account with about 7,500 followers
CAP = 2000


def _secrets() -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for provider, secret, _ in sandbox_credentials():
        out.setdefault(provider, []).append(secret)
    return out


async def profile_id(sandbox_url: str) -> str:
    """Show the account once so the sandbox's id-keyed routes know it."""
    key = _secrets()["jotucker"][0]
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{sandbox_url}/jotucker/user_info", params={"user_name": TARGET},
                    headers=key) as r,
    ):  # fmt: skip
        return str((await r.json())["data"]["user"]["id"])


async def floor(sandbox_url: str, pk: str) -> float:
    headers = _secrets()["jotucker"][0]
    started = time.perf_counter()
    got, cursor = 0, None
    async with aiohttp.ClientSession() as session:
        while got < CAP:
            params = {"user_id": pk, "batch_size": "50"}
            if cursor:
                params["end_cursor"] = cursor
            url = f"{sandbox_url}/jotucker/followers"
            async with session.get(url, params=params, headers=headers) as r:
                body = json.loads(await r.read())
            edge = body["data"]["user"]["edge_followed_by"]
            got += len(edge["edges"])
            cursor = edge["page_info"]["end_cursor"]
            if not edge["page_info"]["has_next_page"]:
                break
    return time.perf_counter() - started


async def ours(sandbox_url: str, pk: str) -> tuple[float, object]:
    credentials = StaticCredentials.from_secrets(_secrets())
    base_urls = {"jotucker": f"{sandbox_url}/jotucker", "rocketapi": f"{sandbox_url}/rocketapi"}
    async with aiohttp.ClientSession() as session:
        crawler = InstagramCrawler(
            session, credentials, base_urls=base_urls, chains={"followers": ["jotucker"]}
        )
        started = time.perf_counter()
        outcome = await HANDLERS["fetch_profile_followers"](crawler, {"profile_id": pk})
        return time.perf_counter() - started, outcome


def write(outcome: object) -> float:
    from beat.store.db import make_engine, upgrade

    with scratch_postgres("beat_bench_followers") as url:
        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        with engine.begin() as conn:
            PIPELINE.write(conn, [outcome], WriteContext())  # type: ignore[list-item]
        seconds = time.perf_counter() - started
        engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sandbox, sandbox_url = start_sandbox("--no-quotas")
    floors, mine, writes = [], [], []
    try:
        pk = asyncio.run(profile_id(sandbox_url))
        asyncio.run(floor(sandbox_url, pk))  # warm the sandbox's payload cache
        for round_no in range(1, args.rounds + 1):
            floors.append(asyncio.run(floor(sandbox_url, pk)))
            seconds, outcome = asyncio.run(ours(sandbox_url, pk))
            mine.append(seconds)
            rows = len(outcome.of("relationships"))  # type: ignore[attr-defined]
            if rows != CAP:
                raise SystemExit(f"listed {rows} followers, expected {CAP}")
            writes.append(write(outcome))
            print(
                f"round {round_no}: floor {floors[-1] * 1000:6.0f} ms"
                f"  beat {mine[-1] * 1000:6.0f} ms  ratio {floors[-1] / mine[-1]:.2f}"
                f"  (+ write {writes[-1] * 1000:.0f} ms)",
                flush=True,
            )
    finally:
        sandbox.terminate()
    print(f"fetch_profile_followers: {CAP} followers of one account, 40 pages, one provider")
    print(f"  {'floor (bare aiohttp paging), median':44}{median(floors) * 1000:8.0f} ms")
    print(f"  {'beat (crawler listing, parsed), median':44}{median(mine) * 1000:8.0f} ms")
    print(f"  {'ratio floor/beat (speed), median':44}{median(floors) / median(mine):8.2f}")
    print(f"  {'beat write: 2,000 rows + events, median':44}{median(writes) * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
