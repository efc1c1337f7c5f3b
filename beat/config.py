"""Runtime settings, read once from the environment.

Every part has an embedded default that needs no service (SQLite file, local object
folder, the sandbox for providers), so `beat demo` and `dagster dev` work on a fresh
machine; production swaps each one with an environment variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

# Real provider hosts; the sandbox replaces all of them with one local URL.
PRODUCTION_BASE_URLS = {
    "graphapi": "https://graph.facebook.com",
    "arraybobo": "https://instagram-scraper-2022.p.rapidapi.com",
    "jotucker": "https://instagram-scraper2.p.rapidapi.com",
    "neotank": "https://instagram130.p.rapidapi.com",
    "bestsolutions": "https://insta-best-performance.p.rapidapi.com",
    "igapi": "https://igdata.p.rapidapi.com",
    "rocketapi": "https://v1.rocketapi.io",
    "lama": "https://api.lamadava.com",
    "ytapitoken": "https://www.googleapis.com",
    "ytapi": "https://www.googleapis.com",
    "youtube138": "https://youtube138.p.rapidapi.com",
    "yt-v31": "https://youtube-v31.p.rapidapi.com",
    "yt-search": "https://youtube-v311.p.rapidapi.com",
    "yt-shorts": "https://www.youtube.com",
    # {host} is the store's own host (foo.myshopify.com, or its domain).
    "shopify": "https://{host}",
    "shopify-storefront": "https://{host}",
}


def sandbox_base_urls(sandbox_url: str) -> dict[str, str]:
    """The sandbox mounts every provider at ``/{name}`` (Graph at ``/graph``)."""
    root = sandbox_url.rstrip("/")
    urls = {name: f"{root}/{name}" for name in PRODUCTION_BASE_URLS}
    return urls | {"graphapi": f"{root}/graph"}


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    object_store_url: str
    s3_endpoint_url: str | None
    provider_base_urls: dict[str, str]
    api_token: str | None
    media_from_batches: bool
    media_allow_endpoints: tuple[str, ...]
    broker_url: str
    relay_after_batch_seconds: float
    #: The broker's names for the outbox's exchanges (`beat.dx`, `identity.dx`), and whether
    #: to declare them (direct, durable) or only check that an operator provisioned them.
    exchange_names: dict[str, str] = field(default_factory=dict)
    exchange_declare: Literal["declare", "passive"] = "declare"
    batch_max: int = 1000
    batch_min: int = 50
    max_inflight_batches: int = 4
    lease_seconds: float = 300.0
    max_attempts: int = 3
    concurrency: int = 64
    provider_timeout_seconds: float = 10.0
    #: Rate limiter: Redis when set (shared by every process everywhere), else a SQLite file
    #: under BEAT_HOME shared by the processes of this machine.
    redis_url: str | None = None
    #: JSON file overriding ``providers.ratelimit.specs.SPECS`` (same shape, merged per section).
    rate_limits_file: str | None = None
    #: How long one provider call may wait for rate-limit budget before the request goes back
    #: to the queue (shared limits) or the next provider is tried (the provider's own limit).
    limiter_wait_seconds: float = 30.0
    #: Graph API version of the graphapi provider (BEAT_GRAPH_API_VERSION).
    graph_api_version: str = "v24.0"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def broker_folder(self) -> Path:
        return self.home / "broker"

    @property
    def ratelimit_path(self) -> Path:
        return self.home / "ratelimit.sqlite3"

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.home / "dagster")


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _exchange_declare() -> Literal["declare", "passive"]:
    value = os.environ.get("BEAT_EXCHANGE_DECLARE", "declare")
    if value not in ("declare", "passive"):
        raise ValueError(f"BEAT_EXCHANGE_DECLARE must be 'declare' or 'passive', not {value!r}")
    return "passive" if value == "passive" else "declare"


def load_settings() -> Settings:
    home = Path(os.environ.get("BEAT_HOME", ".beat")).absolute()
    sandbox_url = os.environ.get("BEAT_SANDBOX_URL")
    base_urls = sandbox_base_urls(sandbox_url) if sandbox_url else dict(PRODUCTION_BASE_URLS)
    return Settings(
        home=home,
        database_url=os.environ.get("BEAT_DATABASE_URL", f"sqlite:///{home / 'beat.db'}"),
        object_store_url=os.environ.get("BEAT_OBJECT_STORE", str(home / "objects")),
        s3_endpoint_url=os.environ.get("BEAT_S3_ENDPOINT_URL"),
        provider_base_urls=base_urls,
        api_token=os.environ.get("BEAT_API_TOKEN"),
        media_from_batches=os.environ.get("BEAT_MEDIA_FROM_BATCHES", "1") == "1",
        # Private or loopback endpoints that media downloads may reach (the local sandbox);
        # everything else must be a public http(s) host.
        media_allow_endpoints=tuple(
            e for e in os.environ.get("BEAT_MEDIA_ALLOW_ENDPOINTS", "").split(",") if e
        ),
        # kombu's filesystem transport: events land as files under BEAT_HOME/broker.
        broker_url=os.environ.get("BEAT_BROKER_URL", "filesystem://"),
        # How long a batch run spends publishing outbox events before it ends (0: leave them
        # all to outbox_relay_sensor).
        relay_after_batch_seconds=_float("BEAT_RELAY_AFTER_BATCH_SECONDS", 30.0),
        exchange_names={
            "beat.dx": os.environ.get("BEAT_EVENTS_EXCHANGE", "beat.dx"),
            "identity.dx": os.environ.get("BEAT_TRACE_EXCHANGE", "identity.dx"),
        },
        exchange_declare=_exchange_declare(),
        batch_max=_int("BEAT_BATCH_MAX", 1000),
        graph_api_version=os.environ.get("BEAT_GRAPH_API_VERSION", "v24.0"),
        batch_min=_int("BEAT_BATCH_MIN", 50),
        max_inflight_batches=_int("BEAT_MAX_INFLIGHT_BATCHES", 4),
        lease_seconds=_float("BEAT_LEASE_SECONDS", 300.0),
        max_attempts=_int("BEAT_MAX_ATTEMPTS", 3),
        concurrency=_int("BEAT_CONCURRENCY", 64),
        provider_timeout_seconds=_float("BEAT_PROVIDER_TIMEOUT_SECONDS", 10.0),
        redis_url=os.environ.get("BEAT_REDIS_URL") or None,
        rate_limits_file=os.environ.get("BEAT_RATE_LIMITS") or None,
        limiter_wait_seconds=_float("BEAT_LIMITER_WAIT_SECONDS", 30.0),
    )
