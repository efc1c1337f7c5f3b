"""Credentials and where the crawler gets them from.

``CredentialSource`` is deliberately tiny (pick / report) so that the in-process
``StaticCredentials`` (unit tests, benchmarks) and the database-backed pool shared by every
process (``beat.store.credentials.DbCredentialPool``) are interchangeable. Both methods are
coroutines for that reason.

Both pools follow the same rules, written once here in ``CredentialSlot`` and
``pick_candidates``:

* A pool per provider; ``pick`` draws at random among the eligible credentials. With a
  ``handle`` (a Shopify store's own token, a creator's own Graph token) only credentials of that
  handle qualify; without one, handle-less credentials are preferred and the others are the
  fallback.
* A rate-limit answer cools the credential for the TTL the provider gave, else for a growing
  backoff (``backoff_seconds``: 30 s doubling up to 30 min, with jitter). ``trips`` counts the
  consecutive limits that drove it.
* After the cooling a credential is half-open: exactly one caller gets it as a probe. A good
  answer makes it healthy again (``trips`` back to 0); another limit cools it for longer; a
  probe that never reports lapses after ``probe_timeout`` and another caller may probe.
* An auth or expiry error (``CredentialRejected``) kills the credential until it is revived or
  replaced.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from providers.errors import scrub_text

__all__ = [
    "BASE_BACKOFF_SECONDS",
    "DEFAULT_COOL_SECONDS",
    "MAX_BACKOFF_SECONDS",
    "PROBE_TIMEOUT_SECONDS",
    "Credential",
    "CredentialSlot",
    "CredentialSource",
    "CredentialState",
    "CredentialStatus",
    "Outcome",
    "StaticCredentials",
    "backoff_seconds",
    "clean_reason",
    "pick_candidates",
]

BASE_BACKOFF_SECONDS = 30.0
MAX_BACKOFF_SECONDS = 1800.0
PROBE_TIMEOUT_SECONDS = 60.0
# Each backoff step is drawn from its top fifth, so pools that tripped together spread out.
BACKOFF_JITTER = 0.2
# Kept for callers of the old API: it was the flat cooling when a limit came without a TTL.
DEFAULT_COOL_SECONDS = BASE_BACKOFF_SECONDS
_MAX_REASON = 300

CredentialStatus = Literal["ok", "cooling", "probing", "dead"]


@dataclass(frozen=True, eq=False)
class Credential:
    """One credential for one provider. ``secret`` is never shown by repr/str.

    graphapi: ``{"token": ..., "user_id": ...}``; RapidAPI providers: the HTTP headers dict.
    Ids that identify rather than authenticate (Graph ``user_id``, YouTube ``channel_id``) are
    not secrets.
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
            and k.lower() not in {"user_id", "channel_id", "x-rapidapi-host"}
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
    """What happened with a credential.

    ``ok`` (``remaining``: the budget the provider says is left, when it says),
    ``rate_limited`` (cool for ``ttl`` s, or a growing backoff when None), ``dead``, and
    ``released``: the call taught nothing about the credential (it was never sent, timed out,
    or the provider itself failed), so a probe lease it held is handed back at once.
    """

    kind: Literal["ok", "rate_limited", "dead", "released"]
    ttl: float | None = None
    reason: str = ""
    remaining: int | None = None

    @classmethod
    def ok(cls, remaining: int | None = None) -> Outcome:
        return cls("ok", remaining=remaining)

    @classmethod
    def rate_limited(cls, ttl: float | None = None, reason: str = "") -> Outcome:
        return cls("rate_limited", ttl, reason)

    @classmethod
    def dead(cls, reason: str = "") -> Outcome:
        return cls("dead", None, reason)

    @classmethod
    def released(cls) -> Outcome:
        return cls("released")


@runtime_checkable
class CredentialSource(Protocol):
    async def pick(self, provider: str, *, handle: str | None = None) -> Credential | None:
        """An eligible credential for ``provider`` (of ``handle`` when given), or None."""
        ...

    # Optional: ``def cooling_seconds(provider, *, handle=None) -> float | None``, how soon a
    # credential comes back when pick found none (None: never, all dead). With it, a request
    # that met only cooling credentials waits for them instead of spending an attempt.

    async def report(self, cred: Credential, outcome: Outcome) -> None:
        """Feed back how a call with ``cred`` went."""
        ...


@dataclass(frozen=True)
class CredentialState:
    """What operators see of one credential: its health and budget, never its secret."""

    provider: str
    id: str
    fingerprint: str
    handle: str | None
    state: CredentialStatus
    cooling_until: datetime | None
    trips: int
    last_reason: str | None
    remaining: int | None
    last_used_at: datetime | None
    remaining_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (ISO times), e.g. for Dagster metadata."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "provider": self.provider,
            "id": self.id,
            "fingerprint": self.fingerprint,
            "handle": self.handle,
            "state": self.state,
            "cooling_until": iso(self.cooling_until),
            "trips": self.trips,
            "last_reason": self.last_reason,
            "remaining": self.remaining,
            "remaining_at": iso(self.remaining_at),
            "last_used_at": iso(self.last_used_at),
        }


def backoff_seconds(
    trips: int,
    rng: random.Random,
    base: float = BASE_BACKOFF_SECONDS,
    cap: float = MAX_BACKOFF_SECONDS,
) -> float:
    """Cooling after the ``trips``-th consecutive rate limit that came without a TTL.

    ``base`` doubling per trip up to ``cap``, less up to 20% jitter.
    """
    step = min(cap, base * 2.0 ** min(max(trips - 1, 0), 32))
    return step * (1.0 - BACKOFF_JITTER * rng.random())


def clean_reason(reason: str, cred: Credential) -> str:
    """A reason safe to store and show: the credential's secrets scrubbed, length capped."""
    return scrub_text(reason or "", cred.secret_values())[:_MAX_REASON]


@dataclass(eq=False)
class CredentialSlot:
    """The health of one credential. Times are in the owning pool's clock (0.0 = never)."""

    cred: Credential
    trips: int = 0
    cooling_until: float = 0.0
    probe_until: float = 0.0
    dead_reason: str | None = None
    last_reason: str | None = None
    remaining: int | None = None
    remaining_at: float | None = None
    last_used_at: float | None = None

    def status(self, now: float) -> CredentialStatus:
        if self.dead_reason is not None:
            return "dead"
        if self.cooling_until > now:
            return "cooling"
        # Cooled down after a limit: half-open, the next use is a probe.
        return "probing" if self.trips > 0 else "ok"

    def can_probe(self, now: float) -> bool:
        return self.status(now) == "probing" and self.probe_until <= now

    def usable(self, now: float) -> bool:
        status = self.status(now)
        return status == "ok" or (status == "probing" and self.probe_until <= now)

    def cool(
        self, now: float, ttl: float | None, *, probe: bool, backoff: Callable[[int], float]
    ) -> None:
        """A rate-limit answer: cool for ``ttl`` (else the backoff for the new trip count)."""
        ttl = ttl if ttl is not None and ttl > 0 else None
        if not probe and self.cooling_until > now:
            # Calls that were in flight when the limit hit: one trip, not one per call.
            if ttl is not None:
                self.cooling_until = max(self.cooling_until, now + ttl)
            return
        self.trips += 1
        self.cooling_until = now + (ttl if ttl is not None else backoff(self.trips))
        if probe:
            self.probe_until = 0.0

    def heal(self) -> None:
        """A probe came back fine."""
        self.trips = 0
        self.cooling_until = 0.0
        self.probe_until = 0.0

    def note_ok(self, now: float, remaining: int | None) -> None:
        self.last_used_at = now
        if remaining is not None:
            self.remaining = remaining
            self.remaining_at = now

    def state(self, now: float, wall: Callable[[float], datetime | None]) -> CredentialState:
        status = self.status(now)
        return CredentialState(
            provider=self.cred.provider,
            id=self.cred.id,
            fingerprint=self.cred.fingerprint,
            handle=self.cred.handle,
            state=status,
            cooling_until=wall(self.cooling_until) if status == "cooling" else None,
            trips=self.trips,
            last_reason=self.dead_reason if status == "dead" else self.last_reason,
            remaining=self.remaining,
            last_used_at=wall(self.last_used_at) if self.last_used_at else None,
            remaining_at=wall(self.remaining_at) if self.remaining_at else None,
        )


def pick_candidates(
    slots: Iterable[CredentialSlot], handle: str | None, now: float
) -> tuple[list[CredentialSlot], list[CredentialSlot]]:
    """(healthy slots, slots due for a probe) that a pick for ``handle`` may use."""
    if handle is not None:
        pool = [s for s in slots if s.cred.handle == handle]
    else:
        slots = list(slots)
        general = [s for s in slots if s.cred.handle is None and s.usable(now)]
        pool = general or slots
    healthy = [s for s in pool if s.status(now) == "ok"]
    probes = [s for s in pool if s.can_probe(now)]
    return healthy, probes


def soonest_usable(slots: Iterable[CredentialSlot], handle: str | None, now: float) -> float | None:
    """Seconds until one of these credentials (for ``handle``, if given) can be used again:
    0 when one can now, None when none ever will (all dead, or there are none)."""
    waits = []
    for slot in slots:
        if slot.status(now) == "dead" or (handle is not None and slot.cred.handle != handle):
            continue
        if slot.usable(now):
            return 0.0
        waits.append(max(slot.cooling_until, slot.probe_until) - now)
    return max(0.0, min(waits)) if waits else None


class StaticCredentials:
    """In-process credential pool with the same rules as the database pool (module docstring).

    ``default_cool_seconds`` is the old name of ``base_backoff``, still accepted.
    """

    def __init__(
        self,
        credentials: Mapping[str, Sequence[Credential]],
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        default_cool_seconds: float | None = None,
        base_backoff: float = BASE_BACKOFF_SECONDS,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        probe_timeout: float = PROBE_TIMEOUT_SECONDS,
    ) -> None:
        self._slots: dict[str, list[CredentialSlot]] = {
            p: [CredentialSlot(c) for c in creds] for p, creds in credentials.items()
        }
        self._by_cred: dict[Credential, CredentialSlot] = {
            s.cred: s for slots in self._slots.values() for s in slots
        }
        self._probing: set[Credential] = set()
        self._rng = rng or random.Random()
        self._clock = clock
        self._base_backoff = base_backoff if default_cool_seconds is None else default_cool_seconds
        self._max_backoff = max(max_backoff, self._base_backoff)
        self._probe_timeout = probe_timeout

    @classmethod
    def from_secrets(
        cls,
        secrets: Mapping[str, Sequence[Mapping[str, str]]],
        **options: Any,
    ) -> StaticCredentials:
        """``{"graphapi": [{"token":..., "user_id":...}], "arraybobo": [{headers}]}``.

        ``options`` are those of the constructor.
        """
        creds = {
            provider: [
                Credential(id=f"{provider}-{i}", provider=provider, secret=dict(secret))
                for i, secret in enumerate(items)
            ]
            for provider, items in secrets.items()
        }
        return cls(creds, **options)

    def eligible(self, provider: str, *, handle: str | None = None) -> list[Credential]:
        """What ``pick`` may hand out right now (a half-open credential included)."""
        healthy, probes = pick_candidates(self._slots.get(provider, ()), handle, self._clock())
        chosen = {id(s) for s in healthy + probes}
        return [s.cred for s in self._slots.get(provider, ()) if id(s) in chosen]

    def cooling_seconds(self, provider: str, *, handle: str | None = None) -> float | None:
        return soonest_usable(self._slots.get(provider, ()), handle, self._clock())

    async def pick(self, provider: str, *, handle: str | None = None) -> Credential | None:
        now = self._clock()
        healthy, probes = pick_candidates(self._slots.get(provider, ()), handle, now)
        if probes:
            # A probe first: it is how a cooled credential gets back into service.
            slot = self._rng.choice(probes)
            slot.probe_until = now + self._probe_timeout
            self._probing.add(slot.cred)
        elif healthy:
            slot = self._rng.choice(healthy)
        else:
            return None
        slot.last_used_at = now
        return slot.cred

    async def report(self, cred: Credential, outcome: Outcome) -> None:
        slot = self._by_cred.get(cred)
        if slot is None:
            return
        now = self._clock()
        was_probe = cred in self._probing
        self._probing.discard(cred)
        if outcome.kind == "released":
            if was_probe:
                slot.probe_until = 0.0  # another caller may probe now
        elif outcome.kind == "ok":
            slot.note_ok(now, outcome.remaining)
            if was_probe:
                slot.heal()
            # An ok that is not a probe, on a tripped credential, left before the limit hit.
        elif outcome.kind == "rate_limited":
            slot.last_reason = clean_reason(outcome.reason, cred) or "rate limited"
            slot.cool(now, outcome.ttl, probe=was_probe, backoff=self._backoff)
        else:
            slot.dead_reason = clean_reason(outcome.reason, cred) or "rejected"
            slot.last_reason = slot.dead_reason

    def revive(self, cred: Credential) -> None:
        """An operator fixed the credential: healthy again, history cleared."""
        slot = self._by_cred.get(cred)
        if slot is not None:
            slot.dead_reason = None
            slot.heal()

    def is_dead(self, cred: Credential) -> bool:
        slot = self._by_cred.get(cred)
        return slot is not None and slot.dead_reason is not None

    def cooling_until(self, cred: Credential) -> float | None:
        slot = self._by_cred.get(cred)
        if slot is None or slot.cooling_until <= self._clock():
            return None
        return slot.cooling_until

    def trips(self, cred: Credential) -> int:
        slot = self._by_cred.get(cred)
        return slot.trips if slot is not None else 0

    def snapshot(self) -> list[CredentialState]:
        """Every credential's health, for operators (no secrets)."""
        now = self._clock()
        offset = time.time() - now  # this pool's clock need not be wall time

        def wall(moment: float) -> datetime:
            return datetime.fromtimestamp(moment + offset, UTC)

        return [s.state(now, wall) for slots in self._slots.values() for s in slots]

    def _backoff(self, trips: int) -> float:
        return backoff_seconds(trips, self._rng, self._base_backoff, self._max_backoff)

    def __repr__(self) -> str:
        sizes = {p: len(s) for p, s in self._slots.items()}
        dead = sum(1 for s in self._by_cred.values() if s.dead_reason is not None)
        return f"StaticCredentials({sizes}, dead={dead})"
