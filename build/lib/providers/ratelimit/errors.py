"""Limiter errors. Both are ``ProviderFault``s, so raising one from the crawler's
``before_request`` hook skips that provider without blaming the credential.

They subclass ``ProviderFault`` directly, not ``RateLimited``: ``RateLimited`` means the
*provider* throttled us and makes the crawler cool the credential, whereas these come from our
own limiter (or its backend) and say nothing about the credential.
"""

from __future__ import annotations

from providers.errors import ProviderFault

__all__ = ["LimiterUnavailable", "RateLimitTimeout"]


class RateLimitTimeout(ProviderFault):
    """``acquire`` could not get a grant within its timeout. ``retry_after`` is the backend's
    wait estimate (seconds) and ``denied_by`` the key of the limit that refused."""

    def __init__(
        self,
        message: str = "",
        *,
        provider: str | None = None,
        retry_after: float | None = None,
        denied_by: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, retry_after=retry_after)
        self.denied_by = denied_by


class LimiterUnavailable(ProviderFault):
    """The limiter's backend (Redis, the SQLite file) could not be reached or failed, or its
    answer was lost (timeout). The limiter fails closed: nothing was granted to the caller.
    Messages name the backend and the error class, never credentials."""
