"""`beat demo`: the main job on embedded defaults, end to end, with nothing to set up.

It starts the provider sandbox and the intake API on loopback, submits a few hundred
requests over HTTP, then ticks the real batch sensor and executes each run it requests
on a Dagster instance under .beat/dagster (so `make ui` shows them afterwards).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from beat.config import Settings, load_settings
from beat.pipeline import demo_requests
from sandbox import RATE_LIMITS_FILE, sandbox_credentials


@dataclass
class LocalServices:
    """The sandbox and the intake API, served from one background event loop."""

    sandbox_url: str = ""
    api_url: str = ""
    media_size_cap: int | None = None

    def start(self, queue: Any, token: str) -> None:
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True, name="demo-services").start()
        asyncio.run_coroutine_threadsafe(self._start(queue, token), self._loop).result(timeout=30)

    async def _start(self, queue: Any, token: str) -> None:
        from beat.intake.api import build_api
        from sandbox.app import start_sandbox
        from sandbox.cdn import CdnConfig

        # Media URLs point at its signed CDN, each file at most 16 kB (disk, not realism).
        cdn = CdnConfig(rewrite_urls=True, size_cap=self.media_size_cap)
        self._sandbox = await start_sandbox(cdn=cdn)
        self.sandbox_url = self._sandbox.url
        self._runner = web.AppRunner(build_api(queue, token=token), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.api_url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        async def _stop() -> None:
            await self._runner.cleanup()
            await self._sandbox.stop()

        asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)


def profile_requests(count: int, source: str) -> list[tuple[str, dict[str, Any]]]:
    """Mostly real handles; one in forty is unknown to every provider, to show a failure."""
    handles = [f"missing_user{i}" if i % 40 == 39 else f"creator.{i:04d}" for i in range(count)]
    return [
        ("refresh_profile_by_handle", {"params": {"handle": h}, "source": source}) for h in handles
    ]


def demo_phases(engine: Any, requests: int, source: str) -> list[tuple[str, Any]]:
    """What the demo submits, phase by phase: (title, () -> [(flow, body), ...]). Each phase
    is drained before the next is built, so later phases may use what earlier ones stored."""
    return [
        ("profiles", lambda: profile_requests(requests, source)),
        ("posts", lambda: post_requests(engine, max(10, requests // 10), source)),
        ("activity", lambda: activity_requests(engine, source)),
        ("youtube", lambda: demo_requests.youtube_requests(source)),
        ("shopify", lambda: demo_requests.shopify_requests(source)),
        ("gpt", lambda: gpt_requests(engine, source)),
    ]


def gpt_requests(engine: Any, source: str) -> list[tuple[str, dict[str, Any]]]:
    """GPT attributes (gender, location, languages) of every profile the demo scraped, as
    gpt_enrichment_sensor would queue them (same idempotency keys)."""
    from beat_dagster.sensors.gpt import enrichment_requests, profiles_since

    profiles, _ = profiles_since(engine, None)
    flows = ["refresh_instagram_gpt_data_gender_location_lang"]
    return [
        (r.flow, {"params": dict(r.params), "source": source, "idempotency_key": r.idempotency_key})
        for r in enrichment_requests(profiles, flows)
    ]


def activity_requests(engine: Any, source: str) -> list[tuple[str, dict[str, Any]]]:
    """Listings of the instagram_activity family about what the first phases stored: who two
    accounts follow, who liked and commented their most discussed posts."""
    from beat.store.models import instagram_account, instagram_post

    with engine.connect() as conn:
        ids = conn.execute(
            select(instagram_account.c.profile_id)
            .where(instagram_account.c.is_private.isnot(True))
            .order_by(instagram_account.c.profile_id)
            .limit(2)
        ).scalars()
        posts = conn.execute(
            select(instagram_post.c.shortcode).order_by(instagram_post.c.comments.desc()).limit(2)
        ).scalars()
        listings = [("fetch_profile_following", {"profile_id": pid}) for pid in ids]
        for code in posts:
            listings.append(("fetch_post_likes", {"shortcode": code, "max_likes": 100}))
            listings.append(("fetch_post_comments", {"shortcode": code, "max_comments": 100}))
    return [(flow, {"params": params, "source": source}) for flow, params in listings]


def post_requests(engine: Any, count: int, source: str) -> list[tuple[str, dict[str, Any]]]:
    """Re-fetch some posts the first phase stored, one by one (refresh_post_by_shortcode)."""
    from beat.store.models import instagram_post

    query = select(instagram_post.c.shortcode).order_by(instagram_post.c.shortcode).limit(count)
    with engine.connect() as conn:
        shortcodes = conn.execute(query).scalars().all()
    return [
        ("refresh_post_by_shortcode", {"params": {"shortcode": code}, "source": source})
        for code in shortcodes
    ]


async def submit_all(
    api_url: str, token: str, requests: list[tuple[str, dict[str, Any]]]
) -> Counter[int]:
    statuses: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        gate = asyncio.Semaphore(32)

        async def submit(flow: str, body: dict[str, Any]) -> None:
            async with (
                gate,
                session.post(f"{api_url}/scrape_request_log/flow/{flow}", json=body) as r,
            ):
                statuses[r.status] += 1
                await r.read()

        await asyncio.gather(*(submit(flow, body) for flow, body in requests))
    return statuses


async def show_rejections(api_url: str, token: str) -> None:
    """What a client sees when it gets a request wrong: a 4xx naming the problem."""
    headers = {"Authorization": f"Bearer {token}"}
    bad: list[tuple[str, dict[str, Any]]] = [
        ("refresh_profile_by_nickname", {"params": {"handle": "x"}}),
        ("refresh_profile_by_handle", {"params": {"handle": 42}}),
        ("refresh_profile_by_handle", {"params": {}}),
    ]
    async with aiohttp.ClientSession(headers=headers) as session:
        for flow, body in bad:
            async with session.post(f"{api_url}/scrape_request_log/flow/{flow}", json=body) as r:
                message = (await r.json())["status"]["message"]
                print(f"  rejected {flow} {body['params']}: HTTP {r.status}: {message}")


async def set_fault(sandbox_url: str, provider: str, mode: str, rate: float) -> None:
    async with aiohttp.ClientSession() as session:
        body = {"provider": provider, "mode": mode, "rate": rate}
        async with session.post(f"{sandbox_url}/_sandbox/faults", json=body) as response:
            response.raise_for_status()


# The embedded instance: SQLite storage under DAGSTER_HOME; at most 4 batch runs per platform
# at a time when runs are launched by the daemon (`make ui`), as production would set it.
DAGSTER_YAML = """\
telemetry:
  enabled: false
concurrency:
  runs:
    tag_concurrency_limits:
      - key: beat/platform
        value:
          applyLimitPerUniqueValue: true
        limit: 4
"""


#: What `make ui` must share with the demo (never the API token or provider secrets).
DEMO_SETTINGS = (
    "BEAT_DATABASE_URL",
    "BEAT_OBJECT_STORE",
    "BEAT_S3_ENDPOINT_URL",
    "BEAT_BROKER_URL",
    "BEAT_REDIS_URL",
    "BEAT_RATE_LIMITS",
    "BEAT_LIMITER_WAIT_SECONDS",
    "BEAT_MEDIA_FROM_BATCHES",
    "BEAT_PARTITIONS_START",
)


def save_demo_settings(settings: Settings) -> None:
    """The settings this demo ran with, for `make ui` and the README's CLI examples (the
    sandbox URL is not kept: `make ui` starts its own sandbox)."""
    from beat.ui import write_demo_env

    kept = {key: os.environ[key] for key in DEMO_SETTINGS if os.environ.get(key)}
    write_demo_env(
        settings.home,
        {**kept, "BEAT_HOME": str(settings.home), "DAGSTER_HOME": str(settings.dagster_home)},
    )


def prepare_dagster_home(settings: Settings) -> None:
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)


def status_line(engine: Any, source: str, since: Any) -> str:
    """This invocation's requests by status: the ones it submitted, and the media they queued."""
    from beat.store.models import scrape_request_log

    log = scrape_request_log.c
    mine = (log.source == source) | ((log.flow == "asset_upload_flow") & (log.created_at >= since))
    with engine.connect() as conn:
        counts = dict(
            conn.execute(select(log.status, func.count()).where(mine).group_by(log.status)).all()
        )
    order = ("PENDING", "PROCESSING", "COMPLETE", "FAILED", "EXPIRED")
    return "  ".join(f"{name.lower()} {counts.get(name, 0)}" for name in order)


def print_summary(
    engine: Any,
    source: str,
    since: Any,
    runs: int,
    failed_runs: int,
    seconds: float,
    rows: Counter[str],
) -> None:
    """What this invocation did (its requests, the rows its runs wrote, the media they
    queued); table sizes, which include earlier demos, are labelled all-time."""
    from beat.store.models import instagram_account, instagram_post, scrape_request_log

    log = scrape_request_log.c
    mine = log.source == source
    with engine.connect() as conn:
        by_status = dict(
            conn.execute(select(log.status, func.count()).where(mine).group_by(log.status)).all()
        )
        by_flow = dict(
            conn.execute(select(log.flow, func.count()).where(mine).group_by(log.flow)).all()
        )
        providers = dict(
            conn.execute(
                select(log.provider, func.count())
                .where(mine, log.status == "COMPLETE")
                .group_by(log.provider)
            ).all()
        )
        reasons = conn.execute(
            select(log.last_error, func.count())
            .where(mine, log.status == "FAILED")
            .group_by(log.last_error)
        ).all()
        media = dict(
            conn.execute(
                select(log.status, func.count())
                .where(log.flow == "asset_upload_flow", log.created_at >= since)
                .group_by(log.status)
            ).all()
        )
        accounts = conn.execute(select(func.count()).select_from(instagram_account)).scalar_one()
        posts = conn.execute(select(func.count()).select_from(instagram_post)).scalar_one()
    complete = by_status.get("COMPLETE", 0)
    print("\nsummary of this run of the demo")
    print(f"  requests submitted  {sum(by_flow.values())}  {by_flow}")
    print(f"  batch runs          {runs} ({failed_runs} failed, their requests handed back)")
    print(f"  complete / failed   {complete} / {by_status.get('FAILED', 0)}")
    print(f"  rows written        {dict(rows)}")
    print(f"  provider mix        {providers}")
    for reason, count in reasons[:5]:
        print(f"  failed x{count:<4}       {(reason or '')[:100]}")
    print(f"  media queued        {media}  (pictures and post media, under .beat/objects/assets)")
    done = complete + sum(media.values())
    print(f"  throughput          {done / seconds:.1f} requests/s over {seconds:.1f} s (media too)")
    print(f"  all-time tables     instagram_account {accounts}, instagram_post {posts}")


def gpt_summary(engine: Any) -> str:
    from beat.store.models_gpt import gpt_attribute as g

    query = select(g.c.status, func.count(), func.sum(g.c.prompt_tokens + g.c.completion_tokens),
                   func.sum(g.c.cost_usd)).group_by(g.c.status)  # fmt: skip
    with engine.connect() as conn:
        by_status = conn.execute(query).all()
    answers = {status: count for status, count, _, _ in by_status}
    tokens = sum(t or 0 for _, _, t, _ in by_status)
    cost = sum(c or 0 for _, _, _, c in by_status)
    return f"{answers}, {tokens} tokens, ${cost:.6f}"


def show_provider_health(defs: Any, instance: Any) -> str:
    """Materialize provider_health once, so the UI shows credentials and budgets at once."""
    from beat_dagster.driver import QUIET_RUN_CONFIG

    job = defs.resolve_job_def("provider_health_job")
    result = job.execute_in_process(instance=instance, run_config=QUIET_RUN_CONFIG)
    (materialization,) = result.asset_materializations_for_node("provider_health")
    meta = materialization.metadata
    states = ("ok", "cooling", "probing", "dead")
    return ", ".join(f"{meta[f'credentials_{s}'].value} {s}" for s in states)


def build_analytics(defs: Any, instance: Any) -> str:
    """Today's analytics partition, built from what the demo just scraped (as the hourly
    automation would), so the UI has a snapshot, growth, posts and leaderboards to show."""

    from beat_dagster.driver import QUIET_RUN_CONFIG
    from beat_dagster.partitions import today_partition_key

    # The named job, so the UI lists the run as what it is (not an anonymous asset job).
    result = defs.resolve_job_def("analytics_job").execute_in_process(
        partition_key=today_partition_key(), instance=instance, run_config=QUIET_RUN_CONFIG
    )
    rows = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        rows[materialization.asset_key.to_user_string()] = materialization.metadata[
            "dagster/row_count"
        ].value
    return ", ".join(f"{name} {count} rows" for name, count in rows.items()) + (
        " (Parquet under analytics/ in the object store)"
    )


def run_demo(requests: int = 200, fault_rate: float = 0.1) -> int:
    import dagster as dg

    from beat.flows import FAMILIES
    from beat.store.credentials import save_credentials
    from beat.store.db import make_engine, upgrade
    from beat.store.queue import RequestQueue

    settings = load_settings()
    prepare_dagster_home(settings)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    save_credentials(engine, sandbox_credentials())
    token = secrets.token_urlsafe(24)
    services = LocalServices(media_size_cap=16_000)
    services.start(RequestQueue(engine), token)
    os.environ["BEAT_SANDBOX_URL"] = services.sandbox_url
    # The providers' own rate specs stay; the global budget that guards paid quotas is
    # raised (nothing is paid for here). Production keeps the defaults or its own file.
    os.environ.setdefault("BEAT_RATE_LIMITS", str(RATE_LIMITS_FILE))
    # Wait at most 2 s for a provider's plan before trying the next provider, so the demo
    # shows that fallback too (production waits up to 30 s).
    os.environ.setdefault("BEAT_LIMITER_WAIT_SECONDS", "2")
    # The sandbox CDN is on loopback, which the media fetcher refuses unless allowed by name.
    os.environ["BEAT_MEDIA_ALLOW_ENDPOINTS"] = services.sandbox_url
    save_demo_settings(settings)
    print(f"beat demo: sandbox {services.sandbox_url}, intake API {services.api_url}")
    print(f"  app database {settings.database_url}\n  dagster home {settings.dagster_home}")
    print(
        "  rate limits  each provider's real plan (arraybobo: 100 calls per 30 s); a call that"
        " would wait more than\n               2 s for its plan tries the next provider; the"
        f" global budget is raised for the sandbox ({os.environ['BEAT_RATE_LIMITS']})"
    )
    try:
        asyncio.run(set_fault(services.sandbox_url, "graphapi", "server_error", fault_rate))
        asyncio.run(show_rejections(services.api_url, token))
        from beat_dagster.definitions import build_definitions
        from beat_dagster.driver import batch_metadata, drive_until_drained

        defs = build_definitions(load_settings())
        queue = RequestQueue(engine)

        source = f"demo-{int(time.time())}"
        since = datetime.now(UTC) - timedelta(seconds=1)
        rows: Counter[str] = Counter()

        def progress(request: dg.RunRequest, result: dg.ExecuteInProcessResult) -> None:
            meta = batch_metadata(result)  # the run's own batch, not the day
            rows.update(meta.get("rows_by_kind") or {})
            print(
                f"  run {request.tags['beat/batch_id']}: {meta.get('requests')} requests "
                f"in {meta.get('duration_seconds')} s  |  this demo's requests: "
                f"{status_line(engine, source, since)}",
                flush=True,
            )

        runs, failed_runs, seconds = 0, 0, 0.0
        with dg.DagsterInstance.get() as instance:
            for title, batch in demo_phases(engine, requests, source):
                submitted = batch()
                statuses = asyncio.run(submit_all(services.api_url, token, submitted))
                print(f"\n{title}: submitted {len(submitted)} requests over HTTP {dict(statuses)}")
                report = drive_until_drained(
                    defs, instance, queue, list(FAMILIES.values()), on_run=progress
                )
                runs, seconds = runs + report.runs, seconds + report.seconds
                failed_runs += report.failed_runs
            health = show_provider_health(defs, instance)
            analytics = build_analytics(defs, instance)
        print_summary(engine, source, since, runs, failed_runs, seconds, rows)
        print(f"  gpt attributes      {gpt_summary(engine)}  (assets in group gpt)")
        print(f"  credentials         {health}  (asset provider_health in the UI)")
        print(f"  analytics           {analytics}")
        print("\nSee the runs and materializations: make ui  (then open http://127.0.0.1:3000)")
    finally:
        services.stop()
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
