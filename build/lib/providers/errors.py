"""The error hierarchy every provider call ends in.

Three families, each telling the caller (the fallback chain, the task queue) what to do:

* ``ProviderFault``: the provider (or our credential for it) failed. Try the next provider;
  the whole request may be retried later. ``retry_after`` is a hint in seconds.
* ``TargetFact``: the provider answered, and the answer is a fact about the target (it does not
  exist, it is private). Never fall back, never retry.
* ``BadInput``: our request is invalid. Reject it; never retry.

Messages are scrubbed of anything that looks like a secret when the error is built, and the
crawler scrubs the exact credential values on top of that (see ``ProviderError.redact``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = [
    "BadInput",
    "CredentialRejected",
    "Deferred",
    "MalformedResponse",
    "NoProviderAvailable",
    "ProviderError",
    "ProviderFault",
    "ProviderUnavailable",
    "RateLimited",
    "TargetFact",
    "TargetNotFound",
    "TargetNotServed",
    "TargetPrivate",
    "scrub_text",
]

_MAX_MESSAGE = 300
_REDACTED = "REDACTED"

# name=value pairs in URLs, query strings, JSON-ish text or form bodies.
_SECRET_PAIR = re.compile(
    r"(?i)(\b[\w-]*(?:access_token|token|key|secret|password|passwd|signature|sig)[\w-]*"
    r"[\"']?\s*[=:]\s*[\"']?)([^\s&\"',;}]+)"
)
# Authorization-style schemes.
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|token|basic|oauth)\s+([A-Za-z0-9._~+/=-]{8,})")


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove secret-looking values (and the given exact values) from ``text``."""
    for value in secrets:
        if value and len(value) >= 4 and value in text:
            text = text.replace(value, _REDACTED)
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + _REDACTED, text)
    return _AUTH_SCHEME.sub(lambda m: m.group(1) + " " + _REDACTED, text)


class ProviderError(Exception):
    """Base of every error a provider call can end in."""

    def __init__(
        self,
        message: str = "",
        *,
        provider: str | None = None,
        status: int | None = None,
    ) -> None:
        clean = scrub_text(str(message))
        if len(clean) > _MAX_MESSAGE:
            clean = clean[: _MAX_MESSAGE - 3] + "..."
        super().__init__(clean)
        self.message = clean
        self.provider = provider
        self.status = status

    def redact(self, secrets: Iterable[str]) -> None:
        """Scrub exact secret values out of the message (in place)."""
        values = [s for s in secrets if s]
        self.message = scrub_text(self.message, values)
        self.args = (self.message,)

    def __str__(self) -> str:
        parts = [self.provider or "", "" if self.status is None else str(self.status)]
        prefix = " ".join(p for p in parts if p)
        kind = type(self).__name__
        head = f"{kind}[{prefix}]" if prefix else kind
        return f"{head}: {self.message}" if self.message else head

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, "
            f"status={self.status!r})"
        )


class ProviderFault(ProviderError):
    """The provider failed; try the next provider. The request may be retried later."""

    def __init__(
        self,
        message: str = "",
        *,
        provider: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.retry_after = retry_after


class RateLimited(ProviderFault):
    """429, quota exhausted, Graph throttling codes (4, 17, 32, 613, 80002...)."""


class ProviderUnavailable(ProviderFault):
    """5xx, timeouts, connection errors, transient provider errors."""


class CredentialRejected(ProviderFault):
    """The credential is invalid, expired or not subscribed (Graph 190, 401/403)."""


class MalformedResponse(ProviderFault):
    """Unparseable body, HTML where JSON was expected, missing or mistyped required keys."""


class TargetNotServed(ProviderFault):
    """This provider cannot serve this target, though another may (e.g. Graph
    business_discovery on a personal account). Fall back; blame neither the credential nor the
    provider's health."""


class NoProviderAvailable(ProviderFault):
    """Every provider in the chain faulted, or none had a usable credential.

    ``attempts`` holds ``(provider, reason)`` for every provider considered, and ``errors`` the
    per-provider ``ProviderFault`` instances (providers skipped for lack of a credential have an
    attempt but no error). ``retry_after`` is the smallest hint among the errors, if any.
    """

    def __init__(
        self,
        message: str = "",
        *,
        attempts: Sequence[tuple[str, str]] = (),
        errors: Sequence[ProviderError] = (),
        retry_after: float | None = None,
    ) -> None:
        hints = [
            e.retry_after
            for e in errors
            if isinstance(e, ProviderFault) and e.retry_after is not None
        ]
        if retry_after is None and hints:
            retry_after = min(hints)
        if not message:
            tried = ", ".join(f"{p}: {r}" for p, r in attempts) or "no provider configured"
            message = f"no provider could serve the request ({tried})"
        super().__init__(message, provider=None, status=None, retry_after=retry_after)
        self.attempts: list[tuple[str, str]] = list(attempts)
        self.errors: list[ProviderError] = list(errors)
        #: Set by the crawler when some provider was skipped only because its credentials
        #: were cooling: they are usable again in this many seconds. Such a request did not
        #: get a fair try; the queue waits for them rather than spending an attempt.
        self.credentials_back_in: float | None = None

    def redact(self, secrets: Iterable[str]) -> None:
        values = [s for s in secrets if s]
        super().redact(values)
        self.attempts = [(p, scrub_text(r, values)) for p, r in self.attempts]
        for err in self.errors:
            err.redact(values)


class Deferred(ProviderError):
    """Not now, and no other provider would do better: a shared budget (the global or
    per-handle rate limit) has no room within the wait allowed, or the rate limiter itself is
    unreachable (it fails closed). The request goes back to the queue for ``retry_after``
    seconds without spending an attempt; nothing was sent to any provider."""

    def __init__(
        self,
        message: str = "",
        *,
        provider: str | None = None,
        retry_after: float | None = None,
        denied_by: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider)
        self.retry_after = retry_after
        self.denied_by = denied_by


class TargetFact(ProviderError):
    """A fact about the target. Never fall back to another provider, never retry."""


class TargetNotFound(TargetFact):
    """The profile or post does not exist (or is not visible to anyone)."""


class TargetPrivate(TargetFact):
    """The account is private; its posts cannot be read."""


class BadInput(ProviderError):
    """Our request is invalid (bad handle, bad shortcode...). Reject; never retry."""
