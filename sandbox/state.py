"""Mutable sandbox state: valid credentials, switchable faults, latency and request stats."""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
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
    "SandboxState",
    "fingerprint",
]

DEFAULT_GRAPH_TOKEN = "sandbox-graph-token"
DEFAULT_RAPIDAPI_KEY = "sandbox-rapidapi-key"
DEFAULT_USER_ID = "17841400000000001"
RAPIDAPI_HOST = "instagram-scraper-2022.p.rapidapi.com"

PROVIDER_NAMES = ("graphapi", "arraybobo")
FAULT_MODES = ("none", "rate_limit", "server_error", "slow", "malformed", "expired_token")
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


def _midnight_utc(now: float) -> int:
    return int(now // 86400 * 86400)


@dataclass
class SandboxState:
    """Everything the sandbox app reads. Mutate it directly in-process, or via the admin API."""

    graph_tokens: set[str] = field(default_factory=lambda: {DEFAULT_GRAPH_TOKEN})
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
        if provider not in (*PROVIDER_NAMES, "*"):
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
        if spec.rate >= 1.0 or self.rng.random() < spec.rate:
            return spec
        return None

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
        return out

    def requests(self, provider: str) -> int:
        return self._counts[(provider, "requests", "")]

    def reset(self) -> None:
        """Back to the initial state: no faults, empty stats, RNG reseeded, initial latency."""
        self.faults.clear()
        self._counts.clear()
        self.rng = random.Random(self.seed)
        self.latency_ms = self._initial_latency

    def credential_secrets(self) -> dict[str, list[dict[str, str]]]:
        """Valid credentials in the shape ``StaticCredentials.from_secrets`` takes."""
        return {
            "graphapi": [
                {"token": t, "user_id": DEFAULT_USER_ID} for t in sorted(self.graph_tokens)
            ],
            "arraybobo": [
                {"x-rapidapi-key": k, "x-rapidapi-host": RAPIDAPI_HOST}
                for k in sorted(self.rapidapi_keys)
            ],
        }
