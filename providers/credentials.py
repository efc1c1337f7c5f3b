"""Credentials and where the crawler gets them from.

``CredentialSource`` is deliberately tiny (pick / report) so a distributed implementation
(Redis cooling keys, a DB table with ``disabled_till``) can replace ``StaticCredentials``
without touching the crawler. Both methods are coroutines for that reason.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "DEFAULT_COOL_SECONDS",
    "Credential",
    "CredentialSource",
    "Outcome",
    "StaticCredentials",
]

DEFAULT_COOL_SECONDS = 60.0


@dataclass(frozen=True, eq=False)
class Credential:
    """One credential for one provider. ``secret`` is never shown by repr/str.

    graphapi: ``{"token": ..., "user_id": ...}``; RapidAPI providers: the HTTP headers dict.
    """

    id: str
    provider: str
    secret: Mapping[str, str] = field(repr=False)
    handle: str | None = None

    def secret_values(self) -> list[str]:
        """The sensitive values, for scrubbing (ids such as Graph ``user_id`` excluded)."""
        return [
            v
            for k, v in self.secret.items()
            if isinstance(v, str)
            and len(v) >= 6
            and k.lower() not in {"user_id", "x-rapidapi-host"}
        ]

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(
            "\x00".join(f"{k}={v}" for k, v in sorted(self.secret.items())).encode()
        ).hexdigest()
        return digest[:12]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credential):
            return NotImplemented
        return (self.provider, self.id) == (other.provider, other.id)

    def __hash__(self) -> int:
        return hash((self.provider, self.id))

    def __repr__(self) -> str:
        return (
            f"Credential(id={self.id!r}, provider={self.provider!r}, handle={self.handle!r}, "
            f"secret=<{len(self.secret)} redacted>)"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class Outcome:
    """What happened with a credential: ``ok``, ``rate_limited`` (cool for ``ttl`` s), ``dead``."""

    kind: Literal["ok", "rate_limited", "dead"]
    ttl: float | None = None
    reason: str = ""

    @classmethod
    def ok(cls) -> Outcome:
        return cls("ok")

    @classmethod
    def rate_limited(cls, ttl: float | None = None, reason: str = "") -> Outcome:
        return cls("rate_limited", ttl, reason)

    @classmethod
    def dead(cls, reason: str = "") -> Outcome:
        return cls("dead", None, reason)


@runtime_checkable
class CredentialSource(Protocol):
    async def pick(self, provider: str) -> Credential | None:
        """An eligible credential for ``provider``, or None when there is none right now."""
        ...

    async def report(self, cred: Credential, outcome: Outcome) -> None:
        """Feed back how a call with ``cred`` went."""
        ...


class StaticCredentials:
    """In-process credential pool: random pick among eligible, local cooling, local death."""

    def __init__(
        self,
        credentials: Mapping[str, Sequence[Credential]],
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        default_cool_seconds: float = DEFAULT_COOL_SECONDS,
    ) -> None:
        self._by_provider: dict[str, list[Credential]] = {
            p: list(creds) for p, creds in credentials.items()
        }
        self._cool_until: dict[Credential, float] = {}
        self._dead: set[Credential] = set()
        self._rng = rng or random.Random()
        self._clock = clock
        self._default_cool = default_cool_seconds

    @classmethod
    def from_secrets(
        cls,
        secrets: Mapping[str, Sequence[Mapping[str, str]]],
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        default_cool_seconds: float = DEFAULT_COOL_SECONDS,
    ) -> StaticCredentials:
        """``{"graphapi": [{"token":..., "user_id":...}], "arraybobo": [{headers}]}``."""
        creds = {
            provider: [
                Credential(id=f"{provider}-{i}", provider=provider, secret=dict(secret))
                for i, secret in enumerate(items)
            ]
            for provider, items in secrets.items()
        }
        return cls(creds, rng=rng, clock=clock, default_cool_seconds=default_cool_seconds)

    def eligible(self, provider: str) -> list[Credential]:
        now = self._clock()
        return [
            c
            for c in self._by_provider.get(provider, ())
            if c not in self._dead and self._cool_until.get(c, 0.0) <= now
        ]

    async def pick(self, provider: str) -> Credential | None:
        choices = self.eligible(provider)
        return self._rng.choice(choices) if choices else None

    async def report(self, cred: Credential, outcome: Outcome) -> None:
        if outcome.kind == "rate_limited":
            ttl = outcome.ttl if outcome.ttl is not None and outcome.ttl > 0 else self._default_cool
            self._cool_until[cred] = self._clock() + ttl
        elif outcome.kind == "dead":
            self._dead.add(cred)
        else:
            self._cool_until.pop(cred, None)

    def is_dead(self, cred: Credential) -> bool:
        return cred in self._dead

    def cooling_until(self, cred: Credential) -> float | None:
        until = self._cool_until.get(cred)
        return until if until is not None and until > self._clock() else None

    def __repr__(self) -> str:
        sizes = {p: len(c) for p, c in self._by_provider.items()}
        return f"StaticCredentials({sizes}, dead={len(self._dead)})"
