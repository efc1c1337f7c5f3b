"""Fixtures for the YouTube provider tests: recorded payloads and a live YouTube sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from providers.http import RawResponse
from tests.providers.youtube.support import YouTubeSandbox, load_recorded, start_youtube_sandbox


@pytest.fixture
def recorded() -> Callable[[str], RawResponse]:
    return load_recorded


@pytest.fixture
async def yt() -> AsyncIterator[YouTubeSandbox]:
    running = await start_youtube_sandbox()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client
