"""YouTube Analytics API v2 reports (refresh_yt_profile_insights), with the channel owner's own
OAuth grant (``ytapi``; only the owner may read a channel's audience).

``GET {analytics}/v2/reports?ids=channel==MINE&startDate=&endDate=&metrics=&dimensions=&sort=``
answers a ``youtubeAnalytics#resultTable``: ``columnHeaders`` (``name``, ``columnType``
DIMENSION|METRIC, ``dataType``) and ``rows``, one list of values per row in the headers' order.
The original reported three breakdowns of the audience, asked here as three reports:

* ``country``: dimensions=country, metrics=views (two-letter codes)
* ``city``: dimensions=city, metrics=views
* ``gender_age``: dimensions=ageGroup,gender, metrics=viewerPercentage (``age18-24``, ``female``)

Production serves Analytics from ``https://youtubeanalytics.googleapis.com`` (another host than
the Data API): pass ``analytics_url`` to ``YtApi`` then; by default it is
``{base_url}/youtubeanalytics`` (the sandbox's layout).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

from providers.errors import MalformedResponse
from providers.http import RawResponse
from providers.parsing import expect_dict, opt_list, req_str

CAP_INSIGHTS = "insights"
KIND_REPORT = "analytics_report"

#: report name -> (dimensions, metric, sort)
REPORTS: dict[str, tuple[str, str, str]] = {
    "country": ("country", "views", "-views"),
    "city": ("city", "views", "-views"),
    "gender_age": ("ageGroup,gender", "viewerPercentage", "gender,ageGroup"),
}
#: The most rows a geography report asks for (top cities/countries by views).
MAX_ROWS = 200


@dataclass(frozen=True)
class AudienceReport:
    """One breakdown of a channel's audience over [start, end]: key -> value, where the key is
    the row's dimensions joined by "." (``US``, ``age18-24.female``)."""

    report: str
    start: date | None
    end: date | None
    values: dict[str, float | int] = field(default_factory=dict)


def report_params(report: str, start: date, end: date) -> dict[str, str]:
    dimensions, metric, sort = REPORTS[report]
    params = {
        "ids": "channel==MINE",
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
        "metrics": metric,
        "dimensions": dimensions,
        "sort": sort,
    }
    if report != "gender_age":
        params["maxResults"] = str(MAX_ROWS)
    return params


def _query(raw: RawResponse) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(raw.url_redacted).query).items() if v}


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _report_named(dimensions: list[str]) -> str:
    """Which report a table answers, by its dimension columns."""
    joined = ",".join(dimensions)
    for name, (dims, _metric, _sort) in REPORTS.items():
        if dims == joined:
            return name
    raise MalformedResponse(f"columnHeaders: not an audience report ({joined[:40]!r})")


def result_table(payload: dict[str, Any], raw: RawResponse) -> AudienceReport:
    """A ``youtubeAnalytics#resultTable`` as key -> metric value; the period comes from the
    request it answered (None when the stored URL does not say)."""
    headers = [expect_dict(h, f"columnHeaders[{i}]")
               for i, h in enumerate(opt_list(payload, "columnHeaders", "body"))]  # fmt: skip
    kinds = [req_str(h, "columnType", f"columnHeaders[{i}]") for i, h in enumerate(headers)]
    if kinds.count("METRIC") != 1 or kinds[-1] != "METRIC":
        raise MalformedResponse("columnHeaders: expected dimensions then one metric")
    names = [req_str(h, "name", f"columnHeaders[{i}]") for i, h in enumerate(headers)]
    report = _report_named(names[:-1])
    values: dict[str, float | int] = {}
    for i, row in enumerate(opt_list(payload, "rows", "body")):
        if not isinstance(row, list) or len(row) != len(headers):
            raise MalformedResponse(f"rows[{i}]: expected {len(headers)} values")
        *dims, value = row
        if not all(isinstance(d, str) for d in dims):
            raise MalformedResponse(f"rows[{i}]: dimensions must be strings")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MalformedResponse(f"rows[{i}]: the metric must be a number")
        values[".".join(dims)] = value
    query = _query(raw)
    return AudienceReport(report, _day(query.get("startDate")), _day(query.get("endDate")), values)
