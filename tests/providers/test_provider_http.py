from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from providers.http import (
    REDACTED,
    ProviderRequest,
    RawResponse,
    redact_headers,
    redact_url,
)


def test_redact_url_hides_secret_query_values() -> None:
    url = (
        "https://graph.facebook.com/v12.0/178?fields=business_discovery.username(bob)%7Bid%7D"
        "&access_token=EAAGsecret123&api_key=k1k1k1&token=t0t0&user=bob"
    )
    out = redact_url(url)
    for secret in ("EAAGsecret123", "k1k1k1", "t0t0"):
        assert secret not in out
    query = parse_qs(urlsplit(out).query)
    assert query["access_token"] == [REDACTED]
    assert query["api_key"] == [REDACTED]
    assert query["user"] == ["bob"]
    assert query["fields"] == ["business_discovery.username(bob){id}"]


def test_redact_url_hides_userinfo_and_survives_junk() -> None:
    assert "pw123" not in redact_url("https://user:pw123@host.example/path")
    assert redact_url("https://host.example/plain") == "https://host.example/plain"
    assert isinstance(redact_url("http://[::1"), str)


def test_redact_headers() -> None:
    headers = {
        "Authorization": "Bearer abc",
        "x-rapidapi-key": "rk-123",
        "X-RapidAPI-Host": "instagram-scraper-2022.p.rapidapi.com",
        "X-Api-Token": "tok",
        "Client-Secret": "s",
        "Cookie": "sessionid=1",
        "Content-Type": "application/json",
    }
    out = redact_headers(headers)
    assert out["Authorization"] == REDACTED
    assert out["x-rapidapi-key"] == REDACTED
    assert out["X-Api-Token"] == REDACTED
    assert out["Client-Secret"] == REDACTED
    assert out["Cookie"] == REDACTED
    assert out["X-RapidAPI-Host"] == "instagram-scraper-2022.p.rapidapi.com"
    assert out["Content-Type"] == "application/json"


def test_provider_request_repr_never_shows_secrets() -> None:
    req = ProviderRequest(
        method="GET",
        url="https://graph.example/v12.0/1",
        params={"fields": "id", "access_token": "EAAGverysecret"},
        headers={"x-rapidapi-key": "rk-verysecret", "Authorization": "Bearer zzzsecret"},
    )
    for text in (repr(req), str(req), req.redacted_url()):
        assert "verysecret" not in text
        assert "zzzsecret" not in text
    assert "fields=id" in req.redacted_url()
    # the real values are still there for the transport
    assert req.params["access_token"] == "EAAGverysecret"


def test_raw_response_build_lowercases_and_redacts() -> None:
    raw = RawResponse.build(
        provider="arraybobo",
        kind="profile",
        status=200,
        body=b"{}",
        headers=[
            ("Content-Type", "application/json"),
            ("Set-Cookie", "a=1"),
            ("X-A", "1"),
            ("x-a", "2"),
        ],
        url="https://h.example/ig/info_username/?user=bob&key=secretkey",
    )
    assert raw.headers["content-type"] == "application/json"
    assert raw.headers["set-cookie"] == REDACTED
    assert raw.headers["x-a"] == "1, 2"
    assert raw.header("Content-Type") == "application/json"
    assert "secretkey" not in raw.url_redacted
    assert "user=bob" in raw.url_redacted
    assert "{}" not in repr(raw)


def test_raw_response_round_trips_through_dict() -> None:
    raw = RawResponse.build(
        provider="graphapi",
        kind="posts_page",
        status=200,
        body='{"a": "é"}'.encode() + b"\xff",
        headers={"X-App-Usage": "{}"},
        url="https://h.example/x",
        elapsed_ms=12.5,
        fetched_at=1700000000.25,
    )
    again = RawResponse.from_dict(raw.to_dict())
    assert again == raw
