from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandbox import RunningSandbox
from tests.providers.shopify.support import start_shopify_sandbox


@pytest.fixture
async def shop_sandbox() -> AsyncIterator[RunningSandbox]:
    running = await start_shopify_sandbox()
    try:
        yield running
    finally:
        await running.stop()
