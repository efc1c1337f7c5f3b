"""Fixtures for sandbox tests: a sandbox on an ephemeral port and a plain HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from sandbox import RunningSandbox, SandboxState, start_sandbox


@pytest.fixture
async def sb() -> AsyncIterator[RunningSandbox]:
    running = await start_sandbox(state=SandboxState(seed=11))
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
