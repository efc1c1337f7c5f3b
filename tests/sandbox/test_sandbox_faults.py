"""Switchable faults, latency, stats and reset, through the admin HTTP API."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from sandbox import (
    DEFAULT_GRAPH_TOKEN,
    DEFAULT_RAPIDAPI_KEY,
    RunningSandbox,
    SandboxState,
    fingerprint,
)
from sandbox.app import main, start_sandbox

FIELDS = "business_discovery.username(alice){ig_id,username,followers_count,media{id,permalink}}"


async def _admin(
    client: aiohttp.ClientSession, sb: RunningSandbox, path: str, body: Any = None
) -> Any:
    if body is None and path != "reset":
        async with client.get(f"{sb.url}/_sandbox/{path}") as resp:
            return await resp.json()
    async with client.post(f"{sb.url}/_sandbox/{path}", json=body or {}) as resp:
        return resp.status, await resp.json()


async def _graph(
    client: aiohttp.ClientSession, sb: RunningSandbox, token: str = DEFAULT_GRAPH_TOKEN
) -> aiohttp.ClientResponse:
    resp = await client.get(
        f"{sb.graph_url}/v12.0/17841400000000001",
        params={"fields": FIELDS, "access_token": token},
    )
    await resp.read()
    return resp


async def _bobo(
    client: aiohttp.ClientSession, sb: RunningSandbox, key: str = DEFAULT_RAPIDAPI_KEY
) -> aiohttp.ClientResponse:
    resp = await client.get(
        f"{sb.arraybobo_url}/ig/info_username/",
        params={"user": "alice"},
        headers={"x-rapidapi-key": key},
    )
    await resp.read()
    return resp


async def test_rate_limit(sb: RunningSandbox, client: aiohttp.ClientSession) -> None:
    status, view = await _admin(client, sb, "faults", {"provider": "*", "mode": "rate_limit"})
    assert status == 200 and set(view["faults"]) == {"*"}
    resp = await _bobo(client, sb)
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "1"
    assert resp.headers["x-ratelimit-requests-remaining"] == "0"
    assert resp.headers["x-ratelimit-requests-limit"] == "1000"
    assert resp.headers["x-ratelimit-requests-reset"] == "30"
    resp = await _graph(client, sb)
    body = json.loads(await resp.read())
    assert body["error"]["code"] == 4
    usage = json.loads(resp.headers["X-Business-Use-Case-Usage"])
    (entries,) = usage.values()
    assert entries[0]["estimated_time_to_regain_access"] == 1


async def test_server_error_expired_and_none(
    sb: RunningSandbox, client: aiohttp.ClientSession
) -> None:
    await _admin(client, sb, "faults", {"provider": "graphapi", "mode": "server_error"})
    statuses = {(await _graph(client, sb)).status for _ in range(12)}
    assert statuses <= {500, 503} and statuses
    assert (await _bobo(client, sb)).status == 200  # only graphapi is faulted

    await _admin(client, sb, "faults", {"provider": "arraybobo", "mode": "expired_token"})
    resp = await _bobo(client, sb)
    assert resp.status == 403
    assert json.loads(await resp.read()) == {"message": "You are not subscribed to this API."}
    await _admin(client, sb, "faults", {"provider": "graphapi", "mode": "expired_token"})
    resp = await _graph(client, sb)
    body = json.loads(await resp.read())
    assert (body["error"]["code"], body["error"]["error_subcode"]) == (190, 463)

    await _admin(client, sb, "faults", {"provider": "arraybobo", "mode": "none"})
    assert (await _bobo(client, sb)).status == 200
    await _admin(client, sb, "faults", {"provider": "*", "mode": "none"})
    assert (await _graph(client, sb)).status == 200
    assert (await _admin(client, sb, "faults"))["faults"] == {}


async def test_malformed(sb: RunningSandbox, client: aiohttp.ClientSession) -> None:
    await _admin(client, sb, "faults", {"provider": "*", "mode": "malformed"})
    kinds = set()
    for _ in range(10):
        for resp in (await _graph(client, sb), await _bobo(client, sb)):
            assert resp.status == 200
            body = await resp.read()
            if resp.content_type == "text/html":
                kinds.add("html")
                assert body.startswith(b"<!DOCTYPE html>")
            else:
                kinds.add("truncated")
                with pytest.raises(ValueError):
                    json.loads(body)
    assert kinds == {"html", "truncated"}


async def test_slow(sb: RunningSandbox, client: aiohttp.ClientSession) -> None:
    await _admin(
        client, sb, "faults", {"provider": "arraybobo", "mode": "slow", "delay_seconds": 0.3}
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await _bobo(client, sb)).status == 200
    assert loop.time() - started >= 0.3
    started = loop.time()
    assert (await _graph(client, sb)).status == 200
    assert loop.time() - started < 0.3
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(_bobo(client, sb), timeout=0.05)


async def test_rate_is_deterministic_for_a_seed(client: aiohttp.ClientSession) -> None:
    async def run() -> list[int]:
        sandbox = await start_sandbox(state=SandboxState(seed=99))
        try:
            sandbox.state.set_fault("arraybobo", "server_error", rate=0.5)
            return [(await _bobo(client, sandbox)).status for _ in range(40)]
        finally:
            await sandbox.stop()

    first, second = await run(), await run()
    assert first == second
    assert 5 < sum(s != 200 for s in first) < 35


async def test_bad_admin_requests(sb: RunningSandbox, client: aiohttp.ClientSession) -> None:
    for body in (
        {"provider": "tiktok", "mode": "slow"},
        {"provider": "*", "mode": "explode"},
        {"provider": "*", "mode": "slow", "rate": 2},
        {"provider": "*", "mode": "slow", "delay_seconds": -1},
        {"provider": "*", "mode": "slow", "rate": "lots"},
    ):
        status, payload = await _admin(client, sb, "faults", body)
        assert status == 400 and "error" in payload
    async with client.post(f"{sb.url}/_sandbox/faults", data=b"not json") as resp:
        assert resp.status == 400
    async with client.post(f"{sb.url}/_sandbox/faults", json=[1, 2]) as resp:
        assert resp.status == 400
    assert sb.state.faults == {}


async def test_stats_count_per_provider_and_credential(
    sb: RunningSandbox, client: aiohttp.ClientSession
) -> None:
    sb.state.rapidapi_keys.add("second-key")
    for _ in range(3):
        await _bobo(client, sb)
    await _bobo(client, sb, key="second-key")
    await _bobo(client, sb, key="unknown-key")
    await _graph(client, sb)
    stats = await _admin(client, sb, "stats")
    bobo = stats["arraybobo"]
    assert bobo["requests"] == 5
    assert bobo["by_credential"] == {
        fingerprint(DEFAULT_RAPIDAPI_KEY): 3,
        fingerprint("second-key"): 1,
        fingerprint("unknown-key"): 1,
    }
    assert bobo["by_status"] == {"200": 4, "403": 1}
    assert bobo["by_kind"] == {"profile": 5}
    assert stats["graphapi"]["requests"] == 1
    assert stats["graphapi"]["by_credential"] == {fingerprint(DEFAULT_GRAPH_TOKEN): 1}
    assert DEFAULT_RAPIDAPI_KEY not in json.dumps(stats)
    assert DEFAULT_GRAPH_TOKEN not in json.dumps(stats)


async def test_reset_and_config(sb: RunningSandbox, client: aiohttp.ClientSession) -> None:
    await _admin(client, sb, "faults", {"provider": "*", "mode": "server_error"})
    await _bobo(client, sb)
    status, cfg = await _admin(client, sb, "config", {"latency_ms": 150})
    assert status == 200 and cfg["latency_ms"] == 150
    loop = asyncio.get_running_loop()
    started = loop.time()
    await _graph(client, sb)
    assert loop.time() - started >= 0.15
    status, view = await _admin(client, sb, "reset")
    assert status == 200 and view == {"faults": {}, "latency_ms": 0.0}
    stats = await _admin(client, sb, "stats")
    assert stats["arraybobo"]["requests"] == 0 and stats["graphapi"]["requests"] == 0
    assert (await _bobo(client, sb)).status == 200
    status, _ = await _admin(client, sb, "config", {"latency_ms": -5})
    assert status == 400
    status, _ = await _admin(client, sb, "config", {"rapidapi_keys": ["k-new"]})
    assert (await _bobo(client, sb)).status == 403
    assert (await _bobo(client, sb, key="k-new")).status == 200


def test_main_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--host" in out and "--port" in out
