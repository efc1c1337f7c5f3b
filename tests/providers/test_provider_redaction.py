"""No secret (token, key, Authorization value, access_token query value) ever shows up in a
repr, a str, an error message, an attempt, or a stored raw response."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import aiohttp
import pytest

from providers.crawler import InstagramCrawler
from providers.credentials import Credential, StaticCredentials
from providers.errors import NoProviderAvailable, ProviderUnavailable
from providers.http import RawResponse
from providers.instagram import PROVIDERS, ArrayBobo
from providers.instagram.base import ProfileParse
from sandbox import RunningSandbox

MakeCrawler = Callable[..., InstagramCrawler]
GRAPH_TOKEN = "EAAGnotvalid-secret-token-0042"
RAPID_KEY = "rk-notvalid-secret-key-0042"


def _texts(err: NoProviderAvailable) -> list[str]:
    out = [str(err), repr(err), str(err.args)]
    out += [reason for _, reason in err.attempts]
    out += [str(e) for e in err.errors] + [repr(e) for e in err.errors]
    return out


async def test_rejected_credentials_leave_no_trace(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    creds = StaticCredentials(
        {
            "graphapi": [
                Credential("g", "graphapi", {"token": GRAPH_TOKEN, "user_id": "17841400000000001"})
            ],
            "arraybobo": [Credential("a", "arraybobo", {"x-rapidapi-key": RAPID_KEY})],
        }
    )
    with pytest.raises(NoProviderAvailable) as info:
        await make_crawler(credentials=creds).profile_with_posts("alice.example")
    texts = _texts(info.value)
    assert any("CredentialRejected" in t for t in texts)
    for text in texts:
        assert GRAPH_TOKEN not in text
        assert RAPID_KEY not in text


async def test_stored_raw_responses_hold_no_secret(
    sandbox: RunningSandbox, make_crawler: MakeCrawler
) -> None:
    token = sandbox.credential_secrets()["graphapi"][0]["token"]
    key = sandbox.credential_secrets()["arraybobo"][0]["x-rapidapi-key"]
    sandbox.state.graph_next_links = True  # Graph's next links embed the token when sent
    crawler = make_crawler()
    graph = await crawler.profile_with_posts("alice.example", max_posts=None, max_age_days=None)
    bobo = await make_crawler(
        chains={"profile_by_handle": ["arraybobo"], "post_by_shortcode": ["arraybobo"]}
    ).profile_with_posts("alice.example", max_posts=None, max_age_days=None)
    raws: list[RawResponse] = graph.raw + bobo.raw
    assert len(raws) >= 3
    # Graph's paging.next links embed the access token: it must have been scrubbed.
    assert any(b"access_token=REDACTED" in r.body for r in graph.raw)
    for raw in raws:
        blob = repr(raw) + raw.url_redacted + repr(raw.headers) + repr(raw.to_dict())
        assert token not in blob and key not in blob
        assert token.encode() not in raw.body and key.encode() not in raw.body
    assert "access_token=REDACTED" in graph.raw[0].url_redacted
    for fetched in (graph, bobo):
        assert token not in repr(fetched) and key not in repr(fetched)


class EchoingArrayBobo(ArrayBobo):
    """A provider whose error message carries the secret in plain words."""

    name: ClassVar[str] = "arraybobo"

    def _parse_profile(self, raw: RawResponse) -> ProfileParse:
        raise ProviderUnavailable(f"upstream said: your subscription {RAPID_KEY} is paused")


async def test_crawler_scrubs_exact_secret_values_from_errors(
    sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    creds = StaticCredentials(
        {"arraybobo": [Credential("a", "arraybobo", {"x-rapidapi-key": RAPID_KEY})]}
    )
    sandbox.state.rapidapi_keys.add(RAPID_KEY)
    crawler = InstagramCrawler(
        http,
        creds,
        sandbox.base_urls,
        chains={"profile_by_handle": ["arraybobo"]},
        providers=dict(PROVIDERS, arraybobo=EchoingArrayBobo()),
    )
    with pytest.raises(NoProviderAvailable) as info:
        await crawler.profile_with_posts("alice.example")
    for text in _texts(info.value):
        assert RAPID_KEY not in text
    assert "REDACTED" in info.value.attempts[0][1]


def test_bad_base_urls_are_rejected_up_front() -> None:
    with pytest.raises(ValueError, match="base URL"):
        InstagramCrawler(
            None,  # type: ignore[arg-type]
            StaticCredentials({}),
            {"graphapi": "graph.example.com/no-scheme"},
        )
