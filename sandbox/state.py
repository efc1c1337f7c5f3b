"""Mutable sandbox state: valid credentials, switchable faults, latency and request stats."""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sandbox.data import LRU

__all__ = [
    "DEFAULT_GRAPH_TOKEN",
    "DEFAULT_RAPIDAPI_KEY",
    "DEFAULT_USER_ID",
    "FAULT_MODES",
    "PROVIDER_NAMES",
    "FaultSpec",
    "ProviderSetup",
    "Quota",
    "QuotaView",
    "SandboxState",
    "fingerprint",
]

DEFAULT_GRAPH_TOKEN = "sandbox-graph-token"
DEFAULT_RAPIDAPI_KEY = "sandbox-rapidapi-key"
DEFAULT_USER_ID = "17841400000000001"
EXPIRED_GRAPH_TOKEN = "sandbox-graph-token-expired"
EXPIRED_RAPIDAPI_KEY = "sandbox-rapidapi-key-expired"
RAPIDAPI_HOST = "instagram-scraper-2022.p.rapidapi.com"

PROVIDER_NAMES = ("graphapi", "arraybobo")
FAULT_MODES = (
    "none",
    "rate_limit",
    "server_error",
    "slow",
    "malformed",
    "expired_token",
    "chaos",
)
#: What ``chaos`` draws from, evenly: everything a healthy credential can meet. (Expired tokens
#: are modelled by expired credentials instead: an "expired" answer to a valid credential would
#: rightly kill it for good.)
CHAOS_MODES = ("rate_limit", "server_error", "slow", "malformed")
DEFAULT_SLOW_SECONDS = 15.0


def fingerprint(secret: str | None) -> str:
    """How the stats name a credential: a short SHA-256 prefix (never the secret itself)."""
    if not secret:
        return "anonymous"
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class FaultSpec:
    mode: str
    rate: float = 1.0
    delay_seconds: float = DEFAULT_SLOW_SECONDS

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "rate": self.rate, "delay_seconds": self.delay_seconds}


@dataclass(frozen=True)
class Quota:
    """A provider's per-credential plan: at most ``limit`` requests per fixed window."""

    limit: int
    window_seconds: float


@dataclass(frozen=True)
class QuotaView:
    """Where one credential stands in its current window (after counting this request)."""

    limit: int
    used: int
    reset_seconds: float

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def over(self) -> bool:
        return self.used > self.limit


@dataclass
class ProviderSetup:
    """One emulated provider: the credentials it accepts or knows as expired, its quota, and
    how a key becomes the credential dict a client uses."""

    name: str
    keys: set[str]
    expired_keys: set[str]
    quota: Quota | None
    secret: Callable[[str], dict[str, str]]
    #: The target a key is bound to (a Shopify token's store), if any.
    handle: Callable[[str], str | None] = lambda key: None


def _midnight_utc(now: float) -> int:
    return int(now // 86400 * 86400)


@dataclass
class SandboxState:
    """Everything the sandbox app reads. Mutate it directly in-process, or via the admin API."""

    graph_tokens: set[str] = field(default_factory=lambda: {DEFAULT_GRAPH_TOKEN})
    #: How Graph's business_discovery answers: with the ``next`` link (False: only
    #: ``paging.cursors.after``, as Graph often answers) and with the deprecated ``ig_id``.
    graph_next_links: bool = False
    graph_ig_id: bool = True
    rapidapi_keys: set[str] = field(default_factory=lambda: {DEFAULT_RAPIDAPI_KEY})
    latency_ms: float = 0.0
    seed: int = 0
    #: Fixed reference time (epoch seconds) for post timestamps; None = today's UTC midnight.
    reference_time: int | None = None
    faults: dict[str, FaultSpec] = field(default_factory=dict)
    payload_cache_size: int = 8192

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._initial_latency = self.latency_ms
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self.payloads: LRU[tuple[Any, ...], bytes] = LRU(self.payload_cache_size)
        self.started_at = time.time()
        self.providers: dict[str, ProviderSetup] = {}
        # (provider, credential fingerprint) -> {window start: requests received}
        self._windows: dict[tuple[str, str], dict[float, int]] = defaultdict(dict)

    # -- providers and quotas ----------------------------------------------------------------

    def add_provider(
        self,
        name: str,
        *,
        keys: Iterable[str],
        expired_keys: Iterable[str] = (),
        quota: Quota | None = None,
        secret: Callable[[str], dict[str, str]],
        handle: Callable[[str], str | None] = lambda key: None,
    ) -> ProviderSetup:
        setup = ProviderSetup(name, set(keys), set(expired_keys), quota, secret, handle)
        self.providers[name] = setup
        return setup

    def admit(self, provider: str, credential: str, now: float | None = None) -> QuotaView | None:
        """Count one request of ``credential`` in its current quota window (None: no quota)."""
        setup = self.providers.get(provider)
        if setup is None or setup.quota is None:
            return None
        now = time.time() if now is None else now
        window = setup.quota.window_seconds
        start = now // window * window
        counts = self._windows[(provider, fingerprint(credential))]
        counts[start] = counts.get(start, 0) + 1
        return QuotaView(setup.quota.limit, counts[start], start + window - now)

    def quota_report(self) -> dict[str, dict[str, Any]]:
        """Per provider and credential: the quota, the busiest window and how many requests
        arrived beyond the quota (a well-behaved client keeps that at 0)."""
        out: dict[str, dict[str, Any]] = {}
        for (provider, cred), counts in sorted(self._windows.items()):
            quota = self.providers[provider].quota
            assert quota is not None
            busiest = max(counts.values(), default=0)
            out.setdefault(provider, {})[cred] = {
                "limit": quota.limit,
                "window_seconds": quota.window_seconds,
                "max_in_window": busiest,
                "over_quota": sum(max(0, n - quota.limit) for n in counts.values()),
            }
        return out

    # -- time -----------------------------------------------------------------------------------

    def reference(self) -> int:
        if self.reference_time is not None:
            return self.reference_time
        return _midnight_utc(time.time())

    # -- faults ---------------------------------------------------------------------------------

    def set_fault(
        self,
        provider: str,
        mode: str,
        rate: float = 1.0,
        delay_seconds: float = DEFAULT_SLOW_SECONDS,
    ) -> None:
        """Switch a fault on (``mode="none"`` switches it off) for ``graphapi``, ``arraybobo``
        or ``*`` (both). ``*`` with ``none`` clears every fault."""
        if provider not in (*PROVIDER_NAMES, *self.providers, "*"):
            raise ValueError(f"unknown provider {provider!r}")
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        if delay_seconds < 0:
            raise ValueError("delay_seconds must be >= 0")
        if mode == "none":
            if provider == "*":
                self.faults.clear()
            else:
                self.faults.pop(provider, None)
            return
        self.faults[provider] = FaultSpec(mode, float(rate), float(delay_seconds))

    def clear_faults(self) -> None:
        self.faults.clear()

    def draw_fault(self, provider: str) -> FaultSpec | None:
        """The fault to apply to this request, if any (seeded, so runs are reproducible)."""
        spec = self.faults.get(provider) or self.faults.get("*")
        if spec is None:
            return None
        if not (spec.rate >= 1.0 or self.rng.random() < spec.rate):
            return None
        if spec.mode == "chaos":
            return FaultSpec(self.rng.choice(CHAOS_MODES), spec.rate, spec.delay_seconds)
        return spec

    # -- stats ----------------------------------------------------------------------------------

    def record(self, provider: str, credential: str, kind: str) -> None:
        counts = self._counts
        counts[(provider, "requests", "")] += 1
        counts[(provider, "by_credential", credential)] += 1
        counts[(provider, "by_kind", kind)] += 1

    def record_status(self, provider: str, status: int) -> None:
        self._counts[(provider, "by_status", str(status))] += 1

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            p: {"requests": 0, "by_credential": {}, "by_kind": {}, "by_status": {}}
            for p in PROVIDER_NAMES
        }
        for (provider, dim, value), n in sorted(self._counts.items()):
            entry = out.setdefault(
                provider, {"requests": 0, "by_credential": {}, "by_kind": {}, "by_status": {}}
            )
            if dim == "requests":
                entry["requests"] = n
            else:
                entry[dim][value] = n
        for provider, creds in self.quota_report().items():
            out.setdefault(provider, {})["quota"] = creds
        return out

    def requests(self, provider: str) -> int:
        return self._counts[(provider, "requests", "")]

    def reset(self) -> None:
        """Back to the initial state: no faults, empty stats, RNG reseeded, initial latency."""
        self.faults.clear()
        self._counts.clear()
        self._windows.clear()
        self.rng = random.Random(self.seed)
        self.latency_ms = self._initial_latency

    def credential_secrets(self) -> dict[str, list[dict[str, str]]]:
        """Valid credentials in the shape ``StaticCredentials.from_secrets`` takes."""
        registered = {
            name: [setup.secret(k) for k in sorted(setup.keys)]
            for name, setup in self.providers.items()
        }
        return registered | {
            "graphapi": [
                {"token": t, "user_id": DEFAULT_USER_ID} for t in sorted(self.graph_tokens)
            ],
            "arraybobo": [
                {"x-rapidapi-key": k, "x-rapidapi-host": RAPIDAPI_HOST}
                for k in sorted(self.rapidapi_keys)
            ],
        }

    def credential_items(
        self, *, expired: bool = False
    ) -> list[tuple[str, dict[str, str], str | None]]:
        """(provider, secret, handle) of every valid (or expired) credential, in the shape
        ``beat.store.credentials.save_credentials`` takes. Anonymous providers have none."""
        items = []
        for name, setup in sorted(self.providers.items()):
            for key in sorted(setup.expired_keys if expired else setup.keys):
                secret = setup.secret(key)
                if secret:
                    items.append((name, secret, setup.handle(key)))
        return items

    def expired_credential_secrets(self) -> dict[str, list[dict[str, str]]]:
        """Credentials each provider knows but rejects as expired (for pool tests)."""
        return {
            name: [setup.secret(k) for k in sorted(setup.expired_keys)]
            for name, setup in self.providers.items()
            if setup.expired_keys
        }
