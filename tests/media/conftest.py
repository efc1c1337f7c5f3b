"""Fixtures for media tests: the sandbox with its CDN, S3 over HTTP (moto server), policies."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from beat.media.guard import FetchPolicy
from beat.objects import S3Store
from sandbox import RunningSandbox, SandboxState, start_sandbox


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=64, retries={"max_attempts": 2}),
    )


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """An S3 API server (moto) over real HTTP, in a thread of this process."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto_process_endpoint() -> Iterator[str]:
    """A moto server in its own process: what this process allocates is then only the client
    side (the memory tests measure it)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _new_bucket(client: Any) -> str:
    name = f"beat-media-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    return s3_client(moto_endpoint)


@pytest.fixture
def bucket(s3: Any) -> str:
    return _new_bucket(s3)


@pytest.fixture
def store(s3: Any, bucket: str) -> S3Store:
    return S3Store(s3, bucket)


def object_keys(client: Any, bucket: str) -> list[str]:
    """Every key in the bucket, as the S3 server lists them."""
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return sorted(keys)


@pytest.fixture
async def sb() -> AsyncIterator[RunningSandbox]:
    """The provider sandbox with its CDN, media URLs rewritten to point at it."""
    running = await start_sandbox(state=SandboxState(seed=5), cdn=True)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def policy(sb: RunningSandbox) -> FetchPolicy:
    """The strict policy plus exactly one endpoint: the sandbox (on 127.0.0.1)."""
    return FetchPolicy.allowing(sb.url)


class Recorder:
    """Every request and connection an aiohttp session starts (through trace hooks)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.connections = 0
        self.dns: list[str] = []

    def session_factory(self, connector: aiohttp.BaseConnector) -> aiohttp.ClientSession:
        trace = aiohttp.TraceConfig()

        async def on_request(_s: Any, _c: Any, params: aiohttp.TraceRequestStartParams) -> None:
            self.requests.append(str(params.url))

        async def on_connection(_s: Any, _c: Any, _p: Any) -> None:
            self.connections += 1

        async def on_dns(_s: Any, _c: Any, params: aiohttp.TraceDnsResolveHostStartParams) -> None:
            self.dns.append(params.host)

        trace.on_request_start.append(on_request)
        trace.on_connection_create_start.append(on_connection)
        trace.on_dns_resolvehost_start.append(on_dns)
        return aiohttp.ClientSession(
            connector=connector, trace_configs=[trace], auto_decompress=False
        )


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
