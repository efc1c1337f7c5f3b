"""The API's inline profile refresh: same crawler, credential pool and rate limits as the
batch runs, over real HTTP against the sandbox, with real Redis."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import Engine

from beat.config import load_settings, sandbox_base_urls
from beat.intake.api import build_api
from beat.intake.refresh import InlineRefresher
from beat.store.credentials import save_credentials
from beat.store.queue import RequestQueue
from sandbox import RATE_LIMITS_FILE, RunningSandbox, SandboxState, start_sandbox

TOKEN = "test-token-0123456789"
REDIS = "redis://127.0.0.1:6379/0"


@dataclass
class Api:
    url: str
    sandbox: RunningSandbox

    async def profile(
        self, handle: str, *, force: bool = False, token: str | None = TOKEN
    ) -> tuple[int, dict[str, Any], Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        params = {"force_refresh": "true"} if force else {}
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{self.url}/profiles/instagram/byhandle/{handle}", params=params, headers=headers
            ) as r,
        ):
            return r.status, await r.json(), r.headers


async def _serve(
    engine: Engine, tmp_path: Path, monkeypatch: Any, **overrides: Any
) -> AsyncIterator[Api]:
    monkeypatch.setenv("BEAT_HOME", str(tmp_path))
    sandbox = await start_sandbox(state=SandboxState(seed=3))
    save_credentials(
        engine, [(p, s) for p, items in sandbox.credential_secrets().items() for s in items]
    )
    chosen = {"rate_limits_file": str(RATE_LIMITS_FILE), "redis_url": REDIS, **overrides}
    settings = replace(load_settings(), provider_base_urls=sandbox_base_urls(sandbox.url), **chosen)
    refresher = InlineRefresher.from_settings(engine, settings)
    runner = web.AppRunner(build_api(RequestQueue(engine), token=TOKEN, refresher=refresher))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield Api(f"http://127.0.0.1:{runner.addresses[0][1]}", sandbox)
    finally:
        await runner.cleanup()
        await sandbox.stop()


@pytest.fixture
async def api(engine: Engine, tmp_path: Path, monkeypatch: Any) -> AsyncIterator[Api]:
    async for served in _serve(engine, tmp_path, monkeypatch):
        yield served


def refreshed(headers: Any) -> bool:
    return headers["X-Beat-Refreshed"] == "true"


async def test_refreshes_when_stale_serves_stored_when_fresh(api: Api) -> None:
    status, body, headers = await api.profile("alice.example")
    assert status == 200 and refreshed(headers)
    assert (
        body["profile"]["handle"] == "alice.example" and body["profile"]["platform"] == "INSTAGRAM"
    )
    calls = api.sandbox.state.requests("graphapi")
    status, body, headers = await api.profile("alice.example")
    assert status == 200 and not refreshed(headers)
    assert api.sandbox.state.requests("graphapi") == calls  # fresh: no provider call
    status, body, headers = await api.profile("alice.example", force=True)
    assert refreshed(headers) and api.sandbox.state.requests("graphapi") > calls


async def test_reads_need_no_token_but_fetching_does(api: Api) -> None:
    """A stored profile is served without a token; one that must be fetched is a 401 that
    says why, and nothing is sent to a provider."""
    status, body, _ = await api.profile("alice.example", token=None)
    assert status == 401 and "provider budget" in body["status"]["message"]
    assert api.sandbox.state.requests("graphapi") == 0
    assert (await api.profile("alice.example"))[0] == 200  # fetched with the token
    status, body, headers = await api.profile("alice.example", token=None)
    assert status == 200 and not refreshed(headers) and body["profile"]["handle"] == "alice.example"
    assert (await api.profile("alice.example", token=None, force=True))[0] == 401
    assert (await api.profile("alice.example", token="wrong", force=True))[0] == 403


async def test_bad_handle_and_missing_profile(api: Api) -> None:
    assert (await api.profile("not a handle!"))[0] == 400
    status, body, _ = await api.profile("missing_someone")
    assert status == 404 and body["status"]["type"] == "ERROR"


async def test_trusted_network_lets_tokenless_callers_fetch(
    engine: Engine, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("BEAT_API_TRUST_NETWORK", "1")
    async for api in _serve(engine, tmp_path, monkeypatch):
        status, _, headers = await api.profile("alice.example", token=None)
        assert status == 200 and refreshed(headers)
        assert (await api.profile("alice.example", token="wrong", force=True))[0] == 403


async def test_budget_exhausted_answers_code_2_and_calls_no_provider(
    engine: Engine, tmp_path: Path, monkeypatch: Any
) -> None:
    """The per-handle limit (1 per minute here) is shared with the batch runs: a second refresh
    of the same handle within the minute is refused before any provider is called."""
    limits = tmp_path / "limits.json"
    limits.write_text(
        json.dumps(
            {**json.loads(RATE_LIMITS_FILE.read_text()), "per_handle": {"rate": 1, "period": 60}}
        )
    )
    async for api in _serve(
        engine, tmp_path, monkeypatch, limiter_wait_seconds=0.2, rate_limits_file=str(limits)
    ):
        # Redis outlives the test: a handle of its own keeps earlier runs' grants out.
        handle = f"budget.{uuid.uuid4().hex[:12]}"
        first = await api.profile(handle, force=True)
        assert first[0] == 200, first[1]
        calls = api.sandbox.state.requests("graphapi")
        status, body, headers = await api.profile(handle, force=True)
        assert status == 429
        assert body["status"] == {
            "type": "ERROR",
            "message": "Concurrency Limit Exceeded",
            "code": 2,
        }
        assert 1 <= int(headers["Retry-After"]) <= 60
        assert api.sandbox.state.requests("graphapi") == calls


async def test_redis_down_fails_closed(engine: Engine, tmp_path: Path, monkeypatch: Any) -> None:
    async for api in _serve(engine, tmp_path, monkeypatch, redis_url="redis://127.0.0.1:1/0"):
        status, body, headers = await api.profile("alice.example")
        assert status == 503 and "rate limiter unavailable" in body["status"]["message"]
        assert "Retry-After" in headers
        assert api.sandbox.state.requests("graphapi") == 0
