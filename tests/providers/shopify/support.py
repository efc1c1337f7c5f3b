"""Shared by the Shopify tests: recorded payloads, a live sandbox serving Shopify, credentials."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web

from providers.credentials import Credential, StaticCredentials
from providers.http import RawResponse
from sandbox import RunningSandbox, SandboxState, build_app, start_sandbox
from sandbox.shopify import ADMIN, EXPIRED_TOKEN, TOKEN_STORES, register
from tests.providers.recorded import from_manifest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers" / "shopify"
MANIFEST: dict[str, Any] = json.loads((FIXTURES / "manifest.json").read_text())
#: 2024-05-15T00:00:00Z: the sandbox's orders and products are dated relative to it.
REFERENCE = 1715731200
TOKEN_OF = {store: token for token, store in TOKEN_STORES.items()}


def recorded(name: str) -> RawResponse:
    """A hand-written answer from tests/fixtures/providers/shopify (see its manifest)."""
    meta = MANIFEST[name]
    return from_manifest(
        FIXTURES, name, meta, provider=meta["provider"], fetched_at=float(REFERENCE)
    )


def recorded_names(provider: str) -> list[str]:
    return sorted(
        k for k, v in MANIFEST.items() if not k.startswith("_") and v["provider"] == provider
    )


async def start_shopify_sandbox(state: SandboxState | None = None) -> RunningSandbox:
    """The sandbox over real HTTP with the Shopify routes mounted.

    Uses ``start_sandbox`` when ``sandbox.app`` mounts Shopify itself; until it does, serves
    ``build_app`` plus ``sandbox.shopify.register`` the same way.
    """
    state = state if state is not None else SandboxState(seed=11, reference_time=REFERENCE)
    running = await start_sandbox(state=state)
    if ADMIN in state.providers:
        return running
    await running.stop()
    app = build_app(state)
    register(app, state)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.25)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return RunningSandbox(url=f"http://127.0.0.1:{port}", state=state, runner=runner)


def admin_credential(
    store: str, token: str | None = None, cred_id: str | None = None
) -> Credential:
    """An Admin API credential bound to ``store`` (its own token unless ``token`` is given)."""
    secret = {"X-Shopify-Access-Token": token or TOKEN_OF[store]}
    return Credential(cred_id or f"shopify-{store}", "shopify", secret, handle=store)


def expired_credential(store: str = "maple-goods") -> Credential:
    return admin_credential(store, EXPIRED_TOKEN, "shopify-expired")


def pool(*creds: Credential) -> StaticCredentials:
    chosen = creds or tuple(admin_credential(store) for store in TOKEN_OF)
    return StaticCredentials({"shopify": list(chosen)})
