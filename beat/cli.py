"""`beat`: the command line. Each subcommand is a thin shell over the library."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from beat.config import load_settings
from beat.flows import FLOWS, FlowRejected


def _engine() -> Any:
    from beat.store.db import make_engine, upgrade

    engine = make_engine(load_settings().database_url)
    upgrade(engine)
    return engine


def _queue() -> Any:
    from beat.store.queue import RequestQueue

    return RequestQueue(_engine(), lease_seconds=load_settings().lease_seconds)


def parse_param_args(pairs: list[str]) -> dict[str, Any]:
    """`key=value` gives a string; `key:=json` gives a JSON value (as httpie does)."""
    params: dict[str, Any] = {}
    for pair in pairs:
        if ":=" in pair:
            key, raw = pair.split(":=", 1)
            try:
                params[key] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise FlowRejected(f"param {key}: not valid JSON ({exc})") from None
        elif "=" in pair:
            key, value = pair.split("=", 1)
            params[key] = value
        else:
            raise FlowRejected(f"param {pair!r} must look like key=value or key:=json")
    return params


def cmd_credentials_add(args: argparse.Namespace) -> int:
    """The secret is read from stdin (a JSON object), never from the command line, where it
    would land in shell history and the process list."""
    from beat.store.credentials import save_credentials

    try:
        secret = json.loads(sys.stdin.read())
    except json.JSONDecodeError:
        print("stdin must hold the secret as a JSON object", file=sys.stderr)
        return 2
    if not isinstance(secret, dict) or not secret:
        print("stdin must hold the secret as a non-empty JSON object", file=sys.stderr)
        return 2
    added = save_credentials(_engine(), [(args.provider, secret, args.handle)])
    print("credential added" if added else "credential already stored (same secret)")
    return 0


def cmd_credentials_list(args: argparse.Namespace) -> int:
    from beat.store.credentials import credential_states

    columns = ("id", "provider", "handle", "state", "trips", "remaining", "cooling_until")
    print("  ".join(f"{c:<14}" for c in columns) + "  last_reason")
    for state in credential_states(_engine()):
        row = state.to_dict()
        cells = "  ".join(f"{row.get(c) if row.get(c) is not None else '-'!s:<14}" for c in columns)
        print(f"{cells}  {(row.get('last_reason') or '-')[:80]}")
    return 0


def cmd_credentials_revive(args: argparse.Namespace) -> int:
    from beat.store.credentials import revive_credential

    if not revive_credential(_engine(), args.id):
        print(f"no credential with id {args.id}", file=sys.stderr)
        return 1
    print(f"credential {args.id} is usable again (every pool picks it up on its next refresh)")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from beat.store.db import make_engine, upgrade

    url = load_settings().database_url
    upgrade(make_engine(url))
    print(f"database is at the latest schema ({_safe_url(url)})")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_flows(args: argparse.Namespace) -> int:
    for flow in FLOWS.values():
        fields = ", ".join(flow.params_model.model_fields)
        print(f"{flow.name:32} {flow.platform:10} family={flow.family:10} params: {fields}")
        print(f"{'':32} {flow.description}")
    return 0


def cmd_request(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"params": parse_param_args(args.params), "priority": args.priority}
    if args.idempotency_key:
        body["idempotency_key"] = args.idempotency_key
    if args.expires_at:
        body["expires_at"] = args.expires_at
    if args.api:
        return _request_over_http(args.api, args.flow, body)
    from beat.intake.api import enqueue_submission
    from beat.intake.submission import parse_submission

    submission = parse_submission(args.flow, body)
    enqueued = enqueue_submission(_queue(), submission)
    state = "created" if enqueued.created else "already existed"
    print(f"scrape request {enqueued.id} {state} (status {enqueued.status})")
    return 0


def _request_over_http(api: str, flow: str, body: dict[str, Any]) -> int:
    import urllib.error
    import urllib.request

    token = os.environ.get("BEAT_API_TOKEN", "")
    request = urllib.request.Request(
        f"{api.rstrip('/')}/scrape_request_log/flow/{flow}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            print(response.read().decode())
            return 0
    except urllib.error.HTTPError as exc:
        print(exc.read().decode(), file=sys.stderr)
        return 1


def cmd_status(args: argparse.Namespace) -> int:
    from beat.intake.api import _dumps, public_view

    record = _queue().get(args.id)
    if record is None:
        print(f"no scrape request with id {args.id}", file=sys.stderr)
        return 1
    print(json.dumps(json.loads(_dumps(public_view(record))), indent=2))
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    from beat.intake.api import RedactingAccessLogger, build_api
    from beat.intake.refresh import InlineRefresher
    from beat.ops.drain import serve_api

    settings = load_settings()
    if not settings.api_token:
        print("set BEAT_API_TOKEN: the API refuses writes without a token", file=sys.stderr)
        return 2
    queue = _queue()
    refresher = InlineRefresher.from_settings(queue.engine, settings)
    app = build_api(queue, token=settings.api_token, refresher=refresher)
    # Drains on SIGTERM; access lines without query strings.
    serve_api(app, host=args.host, port=args.port, access_log_class=RedactingAccessLogger)
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox.app import main as sandbox_main

    return sandbox_main(["--host", args.host, "--port", str(args.port)]) or 0


def cmd_demo(args: argparse.Namespace) -> int:
    from beat.demo import run_demo

    return run_demo(requests=args.requests, fault_rate=args.fault_rate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="beat", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="apply migrations up to the latest").set_defaults(
        func=cmd_db_upgrade
    )

    sub.add_parser("flows", help="list the registered flows").set_defaults(func=cmd_flows)

    creds = sub.add_parser("credentials", help="provider credentials").add_subparsers(
        dest="credentials_command", required=True
    )
    add = creds.add_parser("add", help="store a credential; the secret JSON comes from stdin")
    add.add_argument("provider", help="e.g. graphapi, arraybobo, ytapitoken, shopify")
    add.add_argument("--handle", help="the target it belongs to (a Shopify store, a creator)")
    add.set_defaults(func=cmd_credentials_add)
    creds.add_parser("list", help="health of every credential (no secrets)").set_defaults(
        func=cmd_credentials_list
    )
    revive = creds.add_parser("revive", help="make a dead or cooling credential usable again")
    revive.add_argument("id", type=int)
    revive.set_defaults(func=cmd_credentials_revive)

    request = sub.add_parser("request", help="submit a scrape request")
    request.add_argument("flow", help="flow name (see `beat flows`)")
    request.add_argument("params", nargs="*", help="key=value (string) or key:=json")
    request.add_argument("--priority", type=int, default=1, help="higher is claimed first")
    request.add_argument("--idempotency-key", help="same key returns the same request id")
    request.add_argument("--expires-at", help="ISO-8601 time after which it must not run")
    request.add_argument("--api", help="submit through the HTTP API at this URL (BEAT_API_TOKEN)")
    request.set_defaults(func=cmd_request)

    status = sub.add_parser("status", help="show one scrape request")
    status.add_argument("id", type=int)
    status.set_defaults(func=cmd_status)

    for name, port, func, text in (
        ("api", 8000, cmd_api, "serve the intake HTTP API"),
        ("sandbox", 8100, cmd_sandbox, "serve the provider sandbox"),
    ):
        serve = sub.add_parser(name, help=text)
        serve.add_argument("--host", default="127.0.0.1")
        serve.add_argument("--port", type=int, default=port)
        serve.set_defaults(func=func)

    demo = sub.add_parser("demo", help="run the main job end to end on embedded defaults")
    demo.add_argument("--requests", type=int, default=200)
    demo.add_argument("--fault-rate", type=float, default=0.1, help="sandbox faults on graphapi")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except FlowRejected as exc:
        print(f"rejected: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
