from __future__ import annotations

import pytest

from providers.errors import (
    BadInput,
    CredentialRejected,
    MalformedResponse,
    NoProviderAvailable,
    ProviderError,
    ProviderFault,
    ProviderUnavailable,
    RateLimited,
    TargetFact,
    TargetNotFound,
    TargetNotServed,
    TargetPrivate,
    scrub_text,
)


@pytest.mark.parametrize(
    ("cls", "family"),
    [
        (RateLimited, ProviderFault),
        (ProviderUnavailable, ProviderFault),
        (CredentialRejected, ProviderFault),
        (MalformedResponse, ProviderFault),
        (NoProviderAvailable, ProviderFault),
        (TargetNotServed, ProviderFault),
        (TargetNotFound, TargetFact),
        (TargetPrivate, TargetFact),
        (BadInput, ProviderError),
    ],
)
def test_hierarchy(cls: type[ProviderError], family: type[ProviderError]) -> None:
    assert issubclass(cls, family)
    assert issubclass(cls, ProviderError)
    assert issubclass(ProviderError, Exception)


def test_families_are_disjoint() -> None:
    assert not issubclass(TargetFact, ProviderFault)
    assert not issubclass(BadInput, ProviderFault)
    assert not issubclass(BadInput, TargetFact)


def test_attributes_and_str() -> None:
    err = RateLimited("slow down", provider="arraybobo", status=429, retry_after=7.0)
    assert err.provider == "arraybobo"
    assert err.status == 429
    assert err.retry_after == 7.0
    assert str(err) == "RateLimited[arraybobo 429]: slow down"
    assert "slow down" in repr(err)
    bare = TargetNotFound()
    assert str(bare) == "TargetNotFound"
    assert bare.provider is None and bare.status is None


def test_long_messages_are_truncated() -> None:
    err = MalformedResponse("x" * 5000)
    assert len(err.message) <= 300


def test_no_provider_available_collects_attempts() -> None:
    errors: list[ProviderError] = [
        RateLimited("a", provider="graphapi", retry_after=120.0),
        RateLimited("b", provider="arraybobo", retry_after=30.0),
        ProviderUnavailable("c", provider="x"),
    ]
    attempts = [("graphapi", "rate"), ("arraybobo", "rate"), ("x", "down")]
    err = NoProviderAvailable(attempts=attempts, errors=errors)
    assert err.attempts == attempts
    assert err.errors == errors
    assert err.retry_after == 30.0
    assert "graphapi: rate" in str(err)
    assert NoProviderAvailable().retry_after is None
    assert "no provider configured" in str(NoProviderAvailable())


@pytest.mark.parametrize(
    "text",
    [
        "GET https://graph.example/v12.0/1?access_token=EAAGsecretvalue123&fields=x",
        "headers: {'x-rapidapi-key': 'abcdef0123456789'}",
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz",
        "token=abcdefgh12345 and more",
        'body {"api_key": "zzz999zzz999"}',
    ],
)
def test_scrub_text_removes_secret_looking_values(text: str) -> None:
    for secret in ("EAAGsecretvalue123", "abcdef0123456789", "abcdefghijklmnopqrstuvwxyz"):
        assert secret not in scrub_text(text)
    assert "abcdefgh12345" not in scrub_text(text)
    assert "zzz999zzz999" not in scrub_text(text)


def test_messages_are_scrubbed_at_construction_and_by_redact() -> None:
    err = ProviderUnavailable("failed https://h/x?access_token=SECRET123456", provider="graphapi")
    assert "SECRET123456" not in str(err)
    assert "SECRET123456" not in repr(err)
    other = ProviderUnavailable("echoed plain value hunter2hunter2")
    other.redact(["hunter2hunter2"])
    assert "hunter2hunter2" not in str(other)
    assert "hunter2hunter2" not in repr(other)
    assert "hunter2hunter2" not in str(other.args)


def test_no_provider_available_redact_reaches_attempts_and_errors() -> None:
    inner = CredentialRejected("bad key sk-live-000111222")
    err = NoProviderAvailable(attempts=[("arraybobo", "bad key sk-live-000111222")], errors=[inner])
    err.redact(["sk-live-000111222"])
    assert "sk-live-000111222" not in str(err)
    assert all("sk-live-000111222" not in r for _, r in err.attempts)
    assert "sk-live-000111222" not in str(inner)
