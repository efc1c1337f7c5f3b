"""One suite, two backends: every test taking ``backend``/``limiter`` runs on the embedded
SQLite backend and on a real Redis (``BEAT_TEST_REDIS_URL``, default 127.0.0.1:6379/0).

Each Redis test gets a unique key prefix (so a unique hash tag) and its keys are deleted
afterwards; each local test gets a fresh SQLite file."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.ratelimit.support import REDIS_URL, BackendSpec, delete_prefix


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BackendSpec]:
    if request.param == "local":
        yield BackendSpec("local", str(tmp_path / "ratelimit.sqlite3"), "")
        return
    prefix = f"beattest:{uuid.uuid4().hex[:12]}"
    spec = BackendSpec("redis", REDIS_URL, prefix)
    try:
        yield spec
    finally:
        delete_prefix(REDIS_URL, prefix)


@pytest.fixture
async def limiter(backend: BackendSpec) -> AsyncIterator[object]:
    lim = backend.make()
    try:
        yield lim
    finally:
        await lim.aclose()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"beattest:{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        delete_prefix(REDIS_URL, prefix)
