"""Shared by the YouTube tests: recorded payloads and a live sandbox serving the YouTube routes.

The sandbox comes from ``sandbox.app.start_sandbox`` when the app already registers the YouTube
providers; until then an aiohttp app of its own is built around ``sandbox.youtube.register``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from providers.credentials import StaticCredentials
from providers.http import RawResponse
from sandbox import youtube as sandbox_youtube
from sandbox.app import start_sandbox
from sandbox.gate import STATE_KEY
from sandbox.state import SandboxState
from tests.providers.recorded import from_manifest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers" / "youtube"
MANIFEST: dict[str, Any] = json.loads((FIXTURES / "manifest.json").read_text())


def load_recorded(name: str) -> RawResponse:
    """A recorded answer: ``name`` is ``<provider>/<file>`` under tests/fixtures/providers/youtube."""
    provider = name.split("/", 1)[0]
    return from_manifest(FIXTURES, name, MANIFEST[name], provider=provider, fetched_at=1715731200.0)


def recorded_names(provider: str | None = None) -> list[str]:
    return sorted(
        k
        for k in MANIFEST
        if not k.startswith("_") and (provider is None or k.startswith(provider + "/"))
    )


@dataclass
class YouTubeSandbox:
    url: str
    state: SandboxState
    app: web.Application
    runner: web.AppRunner

    @property
    def base_urls(self) -> dict[str, str]:
        # yt-shorts (youtube.com itself) needs no credential, so it is not among PROVIDERS.
        names = (*sandbox_youtube.PROVIDERS, "yt-shorts")
        return {name: f"{self.url}/{name}" for name in names}

    @property
    def world(self) -> sandbox_youtube.YouTubeWorld:
        return self.app[sandbox_youtube.WORLD_KEY]

    def secrets(self, *providers: str, count: int | None = None) -> dict[str, list[dict[str, str]]]:
        """Valid credentials of ``providers`` (all YouTube ones by default), ``count`` each."""
        wanted = providers or sandbox_youtube.PROVIDERS
        everything = self.state.credential_secrets()
        return {p: everything[p][:count] for p in wanted}

    def credentials(self, *providers: str, count: int | None = None) -> StaticCredentials:
        return StaticCredentials.from_secrets(self.secrets(*providers, count=count))

    def requests(self, provider: str, kind: str | None = None) -> int:
        stats = self.state.stats().get(provider, {})
        if kind is None:
            return int(stats.get("requests", 0))
        return int(stats.get("by_kind", {}).get(kind, 0))

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_youtube_sandbox(seed: int = 5) -> YouTubeSandbox:
    state = SandboxState(seed=seed)
    running = await start_sandbox(state=state)
    app = running.runner.app
    if app is not None and sandbox_youtube.WORLD_KEY in app:
        return YouTubeSandbox(running.url, state, app, running.runner)
    await running.stop()
    # The lead has not wired sandbox.youtube into sandbox/app.py yet: serve it alone.
    state = SandboxState(seed=seed)
    app = web.Application()
    app[STATE_KEY] = state
    sandbox_youtube.register(app, state)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.25)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return YouTubeSandbox(f"http://127.0.0.1:{port}", state, app, runner)
