"""`beat request` and `beat status` validate against the same registry as the HTTP API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from beat.cli import main, parse_param_args
from beat.flows import FlowRejected


@pytest.fixture(autouse=True)
def local_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEAT_HOME", str(tmp_path))
    monkeypatch.delenv("BEAT_DATABASE_URL", raising=False)


def test_param_syntax() -> None:
    assert parse_param_args(["handle=007", "max_posts:=12"]) == {"handle": "007", "max_posts": 12}
    with pytest.raises(FlowRejected, match="key=value"):
        parse_param_args(["handle"])


def test_request_then_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["request", "refresh_profile_by_handle", "handle=nasa", "--idempotency-key", "k1"])
        == 0
    )
    assert "created (status PENDING)" in capsys.readouterr().out
    assert (
        main(["request", "refresh_profile_by_handle", "handle=nasa", "--idempotency-key", "k1"])
        == 0
    )
    out = capsys.readouterr().out
    assert "already existed" in out
    request_id = int(out.split()[2])
    assert main(["status", str(request_id)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["flow"], shown["params"], shown["status"]) == (
        "refresh_profile_by_handle", {"handle": "nasa"}, "PENDING")  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["request", "refresh_everything", "handle=x"], "unknown flow"),
        (["request", "refresh_profile_by_handle"], "handle: Field required"),
        (["request", "refresh_profile_by_handle", "handle:=5"], "valid string"),
        (["request", "refresh_profile_by_handle", "handle=x", "limit=3"], "limit: Extra inputs"),
    ],
)
def test_rejections_name_the_problem(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert needle in capsys.readouterr().err
    assert main(["status", "1"]) == 1  # nothing was written


def test_credentials_add_list_revive_never_print_secrets(tmp_path, monkeypatch, capsys) -> None:
    import io

    from beat.cli import main

    monkeypatch.setenv("BEAT_HOME", str(tmp_path))
    monkeypatch.delenv("BEAT_DATABASE_URL", raising=False)
    secret = '{"x-rapidapi-key": "cli-secret-key-0123456789"}'
    monkeypatch.setattr("sys.stdin", io.StringIO(secret))
    assert main(["credentials", "add", "arraybobo"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("not json"))
    assert main(["credentials", "add", "arraybobo"]) == 2
    assert main(["credentials", "list"]) == 0
    assert main(["credentials", "revive", "1"]) == 0
    assert main(["credentials", "revive", "99"]) == 1
    out = capsys.readouterr()
    assert "arraybobo" in out.out and "ok" in out.out
    assert "cli-secret-key" not in out.out + out.err
