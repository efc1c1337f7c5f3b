"""Shared fixtures for provider tests: recorded payloads and a live sandbox + crawler."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from providers.crawler import InstagramCrawler
from providers.credentials import StaticCredentials
from providers.http import RawResponse
from sandbox import RunningSandbox, SandboxState, start_sandbox
from tests.providers.recorded import from_manifest

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads"
_MANIFEST: dict[str, Any] = json.loads((PAYLOADS / "manifest.json").read_text())
RECORDED_AT = 1715731200.0  # 2024-05-15T00:00:00Z


def load_recorded(name: str) -> RawResponse:
    """A recorded response: ``name`` is ``<provider>/<file>`` under tests/fixtures/payloads."""
    provider = name.split("/", 1)[0]
    return from_manifest(PAYLOADS, name, _MANIFEST[name], provider=provider, fetched_at=RECORDED_AT)


def recorded_names(provider: str | None = None) -> list[str]:
    return sorted(
        k
        for k in _MANIFEST
        if not k.startswith("_") and (provider is None or k.startswith(provider))
    )


@pytest.fixture
def recorded() -> Callable[[str], RawResponse]:
    return load_recorded


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    running = await start_sandbox(state=SandboxState(seed=7))
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def credentials(sandbox: RunningSandbox) -> StaticCredentials:
    return StaticCredentials.from_secrets(sandbox.credential_secrets())


@pytest.fixture
def make_crawler(
    sandbox: RunningSandbox, http: aiohttp.ClientSession, credentials: StaticCredentials
) -> Callable[..., InstagramCrawler]:
    def make(**kwargs: Any) -> InstagramCrawler:
        kwargs.setdefault("credentials", credentials)
        kwargs.setdefault("base_urls", sandbox.base_urls)
        kwargs.setdefault("timeout_seconds", 5.0)
        return InstagramCrawler(http, **kwargs)

    return make
