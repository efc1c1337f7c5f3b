"""Hostile input at intake, on a real PostgreSQL: every case is a 4xx with a message, nothing
is written for it, and nothing reaches the log as an error with a stack trace. A
property-based test (hypothesis) then throws arbitrary bodies, header bytes and ids at the
API and finds no 5xx."""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from beat.store.models import outbox, scrape_request_log
from tests.contract.serving import TOKEN, Served, serve_api

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

HANDLE_FLOW = "/scrape_request_log/flow/refresh_profile_by_handle"
ASSET_FLOW = "/scrape_request_log/flow/asset_upload_flow"
AUTH = f"Bearer {TOKEN}".encode()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_api(Path(tmp_path_factory.mktemp("hostile"))) as served:
        yield served


def send(
    served: Served,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, bytes] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Raw HTTP: header values go out as the exact bytes given."""
    where = urlsplit(served.url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {"Authorization": AUTH, **(headers or {})}.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body or b"")
        response = conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, {"raw": raw[:200].decode("latin-1")}
    finally:
        conn.close()


def counts(served: Served) -> tuple[int, int]:
    with served.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(scrape_request_log)).scalar_one(),
            conn.execute(select(func.count()).select_from(outbox)).scalar_one(),
        )


def asset(**changes: Any) -> dict[str, Any]:
    params = {"entity_type": "POST", "entity_id": "abc123", "asset_type": "IMAGE",
              "original_url": "https://cdn.example.com/a.jpg", "platform": "INSTAGRAM",
              "hash": "12345"}  # fmt: skip
    return {"params": {**params, **changes}}


DEEP = 5000
HOSTILE: list[tuple[str, str, str, bytes, dict[str, bytes]]] = [
    ("nested arrays", "POST", HANDLE_FLOW,
     b'{"params": {"handle": "a"}, "x": ' + b"[" * DEEP + b"]" * DEEP + b"}", {}),
    ("nested objects in params", "POST", HANDLE_FLOW,
     b'{"params": ' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"}", {}),
    ("a 5000-digit priority", "POST", HANDLE_FLOW,
     b'{"params": {"handle": "a"}, "priority": 1' + b"0" * 5000 + b"}", {}),
    ("a 30-digit hash", "POST", ASSET_FLOW,
     json.dumps(asset()).replace('"12345"', "1" + "0" * 30).encode(), {}),
    ("NaN", "POST", HANDLE_FLOW, b'{"params": {"handle": "a"}, "priority": NaN}', {}),
    ("NUL in the idempotency key", "POST", HANDLE_FLOW,
     json.dumps({"params": {"handle": "a"}, "idempotency_key": "k\x00"}).encode(), {}),
    ("NUL in the source", "POST", HANDLE_FLOW,
     json.dumps({"params": {"handle": "a"}, "source": "s\x00"}).encode(), {}),
    ("NUL in a URL", "POST", ASSET_FLOW,
     json.dumps(asset(original_url="https://cdn.example.com/a\x00.jpg")).encode(), {}),
    ("NUL in a hash", "POST", ASSET_FLOW, json.dumps(asset(hash="12\x0034")).encode(), {}),
    ("a lone surrogate", "POST", HANDLE_FLOW,
     b'{"params": {"handle": "a"}, "source": "\\ud800"}', {}),
    ("non-UTF-8 body", "POST", HANDLE_FLOW, b'{"params": {"handle": "\xff"}}', {}),
    ("non-UTF-8 byte in Authorization", "POST", HANDLE_FLOW,
     b'{"params": {"handle": "a"}}', {"Authorization": b"Bearer \xff\xfe" + TOKEN.encode()}),
    ("non-UTF-8 byte in the account id", "POST", HANDLE_FLOW,
     b'{"params": {"handle": "a"}}', {"x-bb-account-id": b"acct-\xff"}),
    ("an id too large for the column", "GET", "/scrape_request_log/flow/99999999999999999999",
     b"", {}),
    ("an id of Arabic-Indic digits", "GET", "/scrape_request_log/flow/" + quote("١٢٣"), b"", {}),
    ("an id of fullwidth digits", "GET", "/scrape_request_log/flow/" + quote("\uff11\uff12"), b"", {}),
    ("a list size of non-ASCII digits", "GET", "/list_scrape_data/acct?size=" + quote("٣"),
     b"", {}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "method", "path", "body", "headers"), HOSTILE,
                         ids=[c[0] for c in HOSTILE])  # fmt: skip
def test_hostile_input_is_a_4xx_that_writes_nothing(
    served: Served,
    caplog: pytest.LogCaptureFixture,
    case: str,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, bytes],
) -> None:
    before = counts(served)
    with caplog.at_level(logging.INFO):
        status, answer = send(served, method, path, body, headers)
    assert 400 <= status < 500, (case, status, answer)
    assert answer["status"]["type"] == "ERROR" and answer["status"]["message"], answer
    assert counts(served) == before, f"{case}: a rejected request wrote something"
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], case


def test_capital_http_scheme_is_a_url(served: Served) -> None:
    body = asset(original_url="HTTP://cdn.example.com/b.jpg", entity_id="upper1")
    status, answer = send(served, "POST", ASSET_FLOW, json.dumps(body).encode())
    assert status == 201, answer


# -- property: nothing a client sends makes a 5xx ----------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(
        st.sampled_from(
            [
                "params",
                "idempotency_key",
                "priority",
                "expires_at",
                "source",
                "flow",
                "platform",
                "extra",
            ]
        ),
        json_values,
    ).map(lambda v: json.dumps(v).encode()),
    st.builds(lambda p: json.dumps({"params": p}).encode(), json_values),
    st.binary(max_size=300),
)
header_bytes = st.binary(max_size=40).filter(lambda b: b"\r" not in b and b"\n" not in b)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flow=st.sampled_from(["refresh_profile_by_handle", "asset_upload_flow", "nope"]),
    body=bodies,
    authorization=st.one_of(st.just(AUTH), header_bytes.map(lambda b: b"Bearer " + b)),
    account=st.one_of(st.none(), header_bytes),
)
def test_no_body_or_header_makes_a_5xx(
    served: Served, flow: str, body: bytes, authorization: bytes, account: bytes | None
) -> None:
    headers = {"Authorization": authorization}
    if account is not None:
        headers["x-bb-account-id"] = account
    status, answer = send(served, "POST", f"/scrape_request_log/flow/{flow}", body, headers)
    assert status < 500, (status, answer)


@settings(max_examples=150, deadline=None)
@given(
    path=st.sampled_from(
        [
            "/scrape_request_log/flow/{}",
            "/profiles/instagram/byid/{}",
            "/list_scrape_data/{}",
            "/posts/instagram/byshortcode/{}",
            "/profiles/{}/byhandle/alice",
            "/recent/posts/instagram/byprofileid/{}",
            "/youtube/channel/byhandle/{}",
        ]
    ),
    value=st.text(min_size=1, max_size=30),
)
def test_no_id_makes_a_5xx(served: Served, path: str, value: str) -> None:
    status, answer = send(served, "GET", path.format(quote(value, safe="")))
    assert status < 500, (status, answer)
