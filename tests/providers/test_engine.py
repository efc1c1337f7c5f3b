"""The platform-neutral crawler engine: chains as data, weighted groups, single-provider
continuation, anonymous providers, and what reaches the credential source."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any, ClassVar

import aiohttp
import pytest
from aiohttp import web

from providers.credentials import Credential, Outcome, StaticCredentials
from providers.engine import Crawler, resolve_chain
from providers.errors import (
    Deferred,
    NoProviderAvailable,
    ProviderUnavailable,
    RateLimited,
    TargetNotFound,
)
from providers.http import ProviderRequest


def test_weighted_group_is_drawn_by_weight() -> None:
    rng = random.Random(1)
    firsts = Counter(resolve_chain(["rocketapi=0.7,jotucker=0.3"], rng)[0] for _ in range(10_000))
    assert 0.67 < firsts["rocketapi"] / 10_000 < 0.73
    # The rest of the group follows as fallback; names already listed are not repeated.
    assert sorted(resolve_chain(["a", "a=1,b=1", "b"], rng)) == ["a", "b"]


@pytest.mark.parametrize("entry", ["a=x,b=1", "a=0,b=0", "a=-1,b=2"])
def test_bad_weighted_entries_are_refused(entry: str) -> None:
    with pytest.raises(ValueError):
        resolve_chain([entry], random.Random(0))


class Echo:
    """A provider of the test platform: GET {base}/{name}?q=..."""

    supports: ClassVar[frozenset[str]] = frozenset({"echo"})
    needs_credential: ClassVar[bool] = True

    def __init__(self, name: str) -> None:
        self.name = name


class Public(Echo):
    needs_credential: ClassVar[bool] = False


class EchoCrawler(Crawler):
    FETCH_TYPES: ClassVar[dict[str, frozenset[str]]] = {"echo": frozenset({"echo"})}

    async def echo(self, q: str, *, only: str | None = None) -> Any:
        async def attempt(provider: Echo, cred: Credential, base: str) -> Any:
            request = ProviderRequest("GET", f"{base}/{provider.name}", params={"q": q})
            raw = await self._execute(provider.name, "echo", request, cred)
            if raw.status == 429:
                raise RateLimited("slow down", retry_after=9.0)
            if raw.status == 503:
                raise ProviderUnavailable("down")
            if raw.status == 404:
                raise TargetNotFound("no such thing")
            return raw.body.decode(), [raw]

        if only is not None:
            return await self._on_provider(only, "echo", attempt)
        return await self._fallback("echo", attempt)


@pytest.fixture
async def server(aiohttp_unused_port: Any = None) -> Any:
    answers: dict[str, int] = {}

    async def handle(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        status = answers.get(name, 200)
        return web.Response(
            status=status,
            text=f"{name}:{request.query['q']}",
            headers={"x-ratelimit-requests-remaining": "41"},
        )

    app = web.Application()
    app.router.add_get("/{name}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", answers
    await runner.cleanup()


class Recording(StaticCredentials):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcomes: list[tuple[str, Outcome]] = []

    async def report(self, cred: Credential, outcome: Outcome) -> None:
        self.outcomes.append((cred.provider, outcome))
        await super().report(cred, outcome)


def _crawler(session: aiohttp.ClientSession, base: str, creds: Any, **kw: Any) -> EchoCrawler:
    providers = {"a": Echo("a"), "b": Echo("b"), "pub": Public("pub")}
    return EchoCrawler(
        session,
        creds,
        {name: base for name in providers},
        kw.pop("chains", {"echo": ["a", "b"]}),
        providers=providers,
        **kw,
    )


def _creds() -> Recording:
    return Recording.from_secrets({"a": [{"key": "secret-a-123"}], "b": [{"key": "secret-b-123"}]})


async def test_faults_fall_back_and_cool_facts_do_not(server: Any) -> None:
    base, answers = server
    creds = _creds()
    async with aiohttp.ClientSession() as session:
        crawler = _crawler(session, base, creds)
        answers["a"] = 429
        got = await crawler.echo("x")
        assert (got.value, got.provider) == ("b:x", "b")
        assert got.attempts[0][0] == "a" and "slow down" in got.attempts[0][1]
        kinds = [(p, o.kind, o.ttl, o.remaining) for p, o in creds.outcomes]
        assert kinds == [("a", "rate_limited", 9.0, None), ("b", "ok", None, 41)]
        assert creds.eligible("a") == []  # cooling
        answers["b"] = 404
        with pytest.raises(TargetNotFound):  # a fact: no fallback to anyone
            await crawler.echo("y")


async def test_continuation_stays_on_the_provider(server: Any) -> None:
    base, answers = server
    async with aiohttp.ClientSession() as session:
        crawler = _crawler(session, base, _creds())
        answers["b"] = 503
        with pytest.raises(NoProviderAvailable) as info:
            await crawler.echo("page-2", only="b")  # a's chain position does not matter
        assert [p for p, _ in info.value.attempts] == ["b"]
        answers.pop("b")
        assert (await crawler.echo("page-2", only="b")).provider == "b"


async def test_anonymous_providers_need_no_credential(server: Any) -> None:
    base, _ = server
    creds = _creds()
    async with aiohttp.ClientSession() as session:
        crawler = _crawler(session, base, creds, chains={"echo": ["pub"]})
        assert (await crawler.echo("z")).value == "pub:z"
    assert creds.outcomes == []  # nothing to report about an anonymous call


async def test_a_deferral_from_the_hook_stops_the_chain(server: Any) -> None:
    """A shared budget that says "not now" would say it to every provider: no fallback."""
    base, _ = server
    tried: list[str] = []

    async def hook(provider: str, cred: Credential) -> None:
        tried.append(provider)
        raise Deferred("global:minute has no room", retry_after=12.0)

    async with aiohttp.ClientSession() as session:
        crawler = _crawler(session, base, _creds(), before_request=hook)
        with pytest.raises(Deferred) as info:
            await crawler.echo("x")
    assert tried == ["a"] and info.value.retry_after == 12.0
