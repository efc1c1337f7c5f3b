"""refresh_yt_profile_insights, provider side: YouTube Analytics result tables parsed from
recorded answers, and read from the sandbox with the channel owner's own grant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import aiohttp
import pytest

from providers.credentials import Credential, StaticCredentials
from providers.errors import MalformedResponse, NoProviderAvailable
from providers.http import RawResponse
from providers.youtube import PROVIDERS, YtApi
from sandbox.youtube_analytics import OWNERS, report
from tests.providers.youtube.support import YouTubeSandbox
from tests.providers.youtube.test_crawler_sandbox import crawler

Recorded = Callable[[str], RawResponse]
API = PROVIDERS["ytapi"]
assert isinstance(API, YtApi)


def test_recorded_result_tables_parse_by_their_columns(recorded: Recorded) -> None:
    ages = API.parse_report(recorded("ytapi/report_gender_age.json"))
    assert ages.report == "gender_age"
    assert ages.values["age25-34.male"] == 31.6 and len(ages.values) == 5
    countries = API.parse_report(recorded("ytapi/report_country.json"))
    assert countries.report == "country"
    assert countries.values == {"US": 81231, "IN": 40214, "GB": 9120}
    # The stored URL does not say which days: the period stays unknown rather than guessed.
    assert countries.start is None and countries.end is None


def test_a_table_that_is_not_an_audience_report_is_malformed() -> None:
    body = (
        b'{"kind":"youtubeAnalytics#resultTable","columnHeaders":[{"name":"day",'
        b'"columnType":"DIMENSION","dataType":"STRING"},{"name":"views","columnType":"METRIC",'
        b'"dataType":"INTEGER"}],"rows":[["2024-01-01",3]]}'
    )
    raw = RawResponse.build(provider="ytapi", kind="analytics_report", status=200, body=body,
                            headers={}, url="https://x.example/v2/reports", fetched_at=0.0)  # fmt: skip
    with pytest.raises(MalformedResponse):
        API.parse_report(raw)


async def test_insights_use_the_owners_grant(
    yt: YouTubeSandbox, session: aiohttp.ClientSession
) -> None:
    refresh_token, owner = next(iter(OWNERS.items()))
    # Each grant bound to its channel, as the credential pool does from the sandbox's handles.
    grants = yt.secrets("ytapi")["ytapi"]
    creds = StaticCredentials({"ytapi": [
        Credential(id=f"ytapi-{i}", provider="ytapi", secret=dict(secret),
                   handle=OWNERS.get(secret["refresh_token"]))
        for i, secret in enumerate(grants)
    ]})  # fmt: skip
    start, end = date(2024, 2, 15), date(2024, 5, 14)
    fetched = await crawler(yt, session, creds).insights(owner, start, end)
    assert fetched.provider == "ytapi"
    by_name = {r.report: r for r in fetched.value}
    assert set(by_name) == {"country", "city", "gender_age"}
    expected = report(owner, "country", "2024-02-15", "2024-05-14", 200)
    assert by_name["country"].values == {c: v for c, v in expected["rows"]}
    assert by_name["country"].start == start and by_name["country"].end == end
    assert abs(sum(by_name["gender_age"].values.values()) - 100) < 1
    assert refresh_token not in str([r.url_redacted for r in fetched.raw])
    # A channel with no grant of its own: nobody may read its audience.
    with pytest.raises(NoProviderAvailable):
        await crawler(yt, session, creds).insights("UC" + "x" * 22, start, end)
