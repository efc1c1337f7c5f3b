"""The intake API with inline refresh, against the sandbox, on a real PostgreSQL and Redis,
served from a background thread so plain synchronous clients (urllib, http.client,
hypothesis) can call it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import Engine

from beat.config import load_settings, sandbox_base_urls
from beat.intake.api import build_api
from beat.intake.refresh import InlineRefresher
from beat.store.credentials import save_credentials
from beat.store.db import make_engine, upgrade
from beat.store.queue import RequestQueue
from sandbox import RATE_LIMITS_FILE, RunningSandbox, SandboxState, start_sandbox
from tests.support import scratch_postgres

TOKEN = "contract-token-0123456789"
REDIS = "redis://127.0.0.1:6379/0"


@dataclass
class Served:
    url: str
    engine: Engine
    sandbox: RunningSandbox
    loop: asyncio.AbstractEventLoop


@contextmanager
def serve_api(
    tmp_path: Path, *, latency_ms: float = 0.0, trust_network: bool = False, **settings: Any
) -> Iterator[Served]:
    """A scratch PostgreSQL database, the sandbox and the API, all torn down afterwards."""
    with scratch_postgres("beat_contract") as url:
        engine = make_engine(url)
        upgrade(engine)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()

        def run(coro: Any) -> Any:
            return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)

        async def start() -> tuple[RunningSandbox, web.AppRunner]:
            sandbox = await start_sandbox(state=SandboxState(seed=5, latency_ms=latency_ms))
            save_credentials(
                engine, [(p, s) for p, items in sandbox.credential_secrets().items() for s in items]
            )
            chosen = {"rate_limits_file": str(RATE_LIMITS_FILE), "redis_url": REDIS, **settings}
            config = replace(
                load_settings(),
                home=tmp_path,
                object_store_url=str(tmp_path / "objects"),
                provider_base_urls=sandbox_base_urls(sandbox.url),
                **chosen,
            )
            refresher = InlineRefresher.from_settings(engine, config)
            app = build_api(
                RequestQueue(engine), token=TOKEN, refresher=refresher, trust_network=trust_network
            )
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            return sandbox, runner

        sandbox, runner = run(start())
        try:
            yield Served(f"http://127.0.0.1:{runner.addresses[0][1]}", engine, sandbox, loop)
        finally:
            run(runner.cleanup())
            run(sandbox.stop())
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
            engine.dispose()
