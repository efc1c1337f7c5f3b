"""The OAuth adapter (ytapi): the token refresh request and answer, and bearer calls."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from providers.credentials import Credential
from providers.errors import CredentialRejected, MalformedResponse, RateLimited
from providers.http import RawResponse
from providers.youtube import YtApi
from providers.youtube.ytapi import ACCESS_TOKEN_FIELD

Recorded = Callable[[str], RawResponse]
OAUTH = YtApi()
SECRET = {
    "refresh_token": "1//recorded-refresh-token-0001",
    "channel_id": "UCq3Ci-h945sbEYXpVlw7rJg",
    "client_id": "123-recorded.apps.googleusercontent.com",
    "client_secret": "GOCSPX-recorded-secret",
}
CRED = Credential("o", "ytapi", SECRET)


def test_token_request_is_a_form_post() -> None:
    request = OAUTH.token_request(CRED, "https://oauth.example/")
    assert (request.method, request.url) == ("POST", "https://oauth.example/token")
    assert request.data == {
        "grant_type": "refresh_token",
        "refresh_token": SECRET["refresh_token"],
        "client_id": SECRET["client_id"],
        "client_secret": SECRET["client_secret"],
    }
    assert request.params == {} and request.json is None
    text = repr(request)
    assert SECRET["refresh_token"] not in text and SECRET["client_secret"] not in text


def test_the_token_endpoint_can_live_elsewhere() -> None:
    request = YtApi(token_url="https://oauth2.example/token").token_request(CRED, "https://api")
    assert request.url == "https://oauth2.example/token"


def test_an_incomplete_grant_is_rejected() -> None:
    partial = Credential("p", "ytapi", {"refresh_token": "1//x", "channel_id": "UC"})
    with pytest.raises(CredentialRejected) as info:
        OAUTH.token_request(partial, "https://oauth.example")
    assert "client_id" in info.value.message and "client_secret" in info.value.message


def test_token_answer(recorded: Recorded) -> None:
    token = OAUTH.parse_token(recorded("ytapi/token.json"))
    assert token.token.startswith("ya29.")
    assert token.expires_in == 3599.0
    assert token.token not in repr(token) and token.token not in str(token)


@pytest.mark.parametrize(
    "name", ["ytapi/error_invalid_grant.json", "ytapi/error_invalid_client.json"]
)
def test_a_revoked_grant_is_dead(recorded: Recorded, name: str) -> None:
    with pytest.raises(CredentialRejected) as info:
        OAUTH.parse_token(recorded(name))
    assert info.value.provider == "ytapi"


def test_token_answers_that_are_not_tokens() -> None:
    def raw(status: int, body: bytes) -> RawResponse:
        return RawResponse.build("ytapi", "oauth_token", status, body)

    with pytest.raises(MalformedResponse):
        OAUTH.parse_token(raw(200, b'{"expires_in": 3599}'))
    with pytest.raises(MalformedResponse):
        OAUTH.parse_token(raw(200, b'{"access_token": "ya29.x", "token_type": "MAC"}'))
    with pytest.raises(MalformedResponse):
        OAUTH.parse_token(raw(200, b'{"access_token": "ya29.x", "expires_in": -5}'))
    with pytest.raises(RateLimited):
        OAUTH.parse_token(raw(429, b'{"error": "rate_limit_exceeded"}'))
    assert OAUTH.parse_token(raw(200, b'{"access_token": "ya29.x"}')).expires_in == 3600.0


def test_api_calls_carry_the_bearer_token_not_a_key() -> None:
    authed = Credential("o", "ytapi", {ACCESS_TOKEN_FIELD: "ya29.fresh-token"})
    request = OAUTH.channel_request(None, "harbourlanekitchen", authed, "https://api.example")
    assert request.headers["Authorization"] == "Bearer ya29.fresh-token"
    assert "key" not in request.params
    assert "ya29.fresh-token" not in repr(request)
    with pytest.raises(ValueError):
        OAUTH.channel_request(None, "harbourlanekitchen", CRED, "https://api.example")


def test_oauth_channel_answers_parse_like_the_key_api(recorded: Recorded) -> None:
    channel = OAUTH.parse_channel(recorded("ytapi/channel.json"))
    assert channel.channel_id == "UCq3Ci-h945sbEYXpVlw7rJg"
