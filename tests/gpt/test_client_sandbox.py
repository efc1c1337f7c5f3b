"""The GPT crawler against the sandbox's chat completions over real HTTP: re-asks, final
answers, accounting equal to the endpoint's usage, 429 cooling, dead keys, limits, Azure."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from providers.credentials import StaticCredentials
from providers.errors import CredentialRejected, Deferred, NoProviderAvailable
from providers.llm import Deployment, GptCrawler, price_table, prompt_book
from providers.ratelimit import LocalRateLimiter
from sandbox.app import start_sandbox
from sandbox.openai import EXPIRED_KEY, KEYS, NAME

PROFILE = {"name": "Asha", "bio": "Food and travel from Mumbai", "category": "Blogger"}


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[str]:
    running = await start_sandbox()
    try:
        yield running.url
    finally:
        await running.stop()


async def _get(url: str) -> dict:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.json()


async def _post(url: str, body: dict) -> None:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        response.raise_for_status()


def crawler(url: str, keys=(KEYS[0],), **kwargs) -> tuple[GptCrawler, StaticCredentials]:
    deployment = kwargs.pop("deployment", None) or Deployment(
        name=NAME, base_url=f"{url}/openai/v1"
    )
    pool = StaticCredentials.from_secrets({NAME: [{"api_key": k} for k in keys]})
    return GptCrawler(deployment, pool, price_table(), **kwargs), pool


async def test_answers_and_accounting_equal_the_endpoints_usage(sandbox: str) -> None:
    gpt, _ = crawler(sandbox)
    book = prompt_book()
    asked = []
    try:
        for handle in ("asha.eats", "mystery.cook", "garbled.chef", "refuse.me", "verbose.vlog"):
            for name in book.prompts:
                asked.append(await gpt.ask(book.active(name), {"handle": handle, **PROFILE}))
    finally:
        await gpt.aclose()
    usage = await _get(f"{sandbox}/_sandbox/openai/usage")
    assert sum(a.asks for a in asked) == usage["requests"]
    assert sum(a.prompt_tokens for a in asked) == usage["prompt_tokens"]
    assert sum(a.completion_tokens for a in asked) == usage["completion_tokens"]
    expected = price_table().cost("gpt-4o-mini", usage["prompt_tokens"], usage["completion_tokens"])
    assert sum((a.cost for a in asked), Decimal(0)) == expected  # exact, not approximately
    statuses = [a.verdict.status for a in asked]
    assert statuses.count("refused") == 6 and statuses.count("truncated") == 6
    assert statuses.count("ok") == 18


async def test_reasks_fill_unknowns_and_stop_at_the_prompts_limit(sandbox: str) -> None:
    gpt, _ = crawler(sandbox)
    prompt = prompt_book().active("base_location")
    try:
        mystery = await gpt.ask(prompt, {"handle": "mystery.cook", **PROFILE})
        enigma = await gpt.ask(prompt, {"handle": "enigma.cook", **PROFILE})
        garbled = await gpt.ask(prompt, {"handle": "garbled.chef", **PROFILE})
    finally:
        await gpt.aclose()
    assert (mystery.verdict.status, mystery.asks) == ("ok", 2)
    assert mystery.verdict.answer["city"] != "UNKNOWN"
    assert (enigma.verdict.status, enigma.asks) == ("incomplete", 1 + prompt.max_reasks)
    assert "city: empty or UNKNOWN" in enigma.verdict.reason
    assert (garbled.verdict.status, garbled.asks) == ("ok", 2)


async def test_a_429_cools_the_key_for_the_time_the_headers_name(sandbox: str) -> None:
    await _post(f"{sandbox}/_sandbox/faults", {"provider": NAME, "mode": "rate_limit", "rate": 1})
    gpt, pool = crawler(sandbox)
    try:
        with pytest.raises(NoProviderAvailable) as caught:
            await gpt.ask(prompt_book().active("base_gender"), {"handle": "asha.eats", **PROFILE})
    finally:
        await gpt.aclose()
    assert caught.value.credentials_back_in == 1.0  # x-ratelimit-reset-requests / retry-after
    (state,) = pool.snapshot()
    assert state.state == "cooling" and state.trips == 1
    assert await pool.pick(NAME) is None  # the only key is cooling: the request waits


async def test_an_invalid_key_is_dead_and_never_shown(sandbox: str) -> None:
    gpt, pool = crawler(sandbox, keys=(EXPIRED_KEY,))
    try:
        with pytest.raises(CredentialRejected) as caught:
            await gpt.ask(prompt_book().active("base_gender"), {"handle": "asha.eats", **PROFILE})
    finally:
        await gpt.aclose()
    assert EXPIRED_KEY not in str(caught.value)
    assert await pool.pick(NAME) is None


async def test_token_limit_admits_the_estimate_and_defers_beyond_it(
    sandbox: str, tmp_path: Path
) -> None:
    deployment = Deployment(
        name=NAME,
        base_url=f"{sandbox}/openai/v1",
        requests_per_minute=1000,
        # One base_gender ask is estimated at ~260 tokens (prompt + max_tokens): one fits.
        tokens_per_minute=400,
        max_request_tokens=400,
    )
    limiter = LocalRateLimiter(tmp_path / "limits.sqlite3")
    gpt, _ = crawler(sandbox, deployment=deployment, limiter=limiter, wait_seconds=0.2)
    prompt = prompt_book().active("base_gender")
    try:
        first = await gpt.ask(prompt, {"handle": "asha.eats", **PROFILE})
        assert first.verdict.status == "ok"
        with pytest.raises(Deferred, match="llm:openai-sandbox:tokens"):
            await gpt.ask(prompt, {"handle": "other.eats", **PROFILE})
        requests, tokens = gpt.limits
        left = await limiter.remaining([requests, tokens])
        # The deferred ask handed its request grant back: only the first ask is counted.
        assert left[requests.key] == pytest.approx(1.0, abs=0.01)
    finally:
        await gpt.aclose()
        await limiter.aclose()
    usage = await _get(f"{sandbox}/_sandbox/openai/usage")
    assert usage["requests"] == 1


async def test_azure_deployment_through_the_azure_client(sandbox: str) -> None:
    deployment = Deployment(
        name=NAME,
        kind="azure",
        base_url=f"{sandbox}/openai",
        model="gpt-35-turbo",
        api_version="2024-10-21",
    )
    gpt, _ = crawler(sandbox, deployment=deployment)
    try:
        asked = await gpt.ask(prompt_book().active("base_gender"), {"handle": "asha", **PROFILE})
    finally:
        await gpt.aclose()
    assert asked.verdict.status == "ok"
    assert asked.model == "gpt-35-turbo"
    assert asked.raw[0].url_redacted.startswith(f"{sandbox}/openai/openai/deployments/")
    assert json.loads(asked.raw[0].body)["usage"]["prompt_tokens"] == asked.prompt_tokens
    assert asked.cost is not None


async def test_same_question_same_answer(sandbox: str) -> None:
    gpt, _ = crawler(sandbox)
    prompt = prompt_book().active("audience_cities")
    try:
        answers = await asyncio.gather(
            *(gpt.ask(prompt, {"handle": "asha.eats", **PROFILE}) for _ in range(3))
        )
    finally:
        await gpt.aclose()
    assert answers[0].verdict.answer == answers[1].verdict.answer == answers[2].verdict.answer
