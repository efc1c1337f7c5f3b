"""The blocking entrypoint, run as a real process (``python -m sandbox``)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_python_m_sandbox_serves_and_prints_base_urls() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("  admin:"):
            lines.append(proc.stdout.readline())
        printed = "".join(lines)
        for path in ("graph", "arraybobo", "shopify", "shopify-storefront"):
            assert f"http://127.0.0.1:{port}/{path}\n" in printed
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sandbox/health") as resp:
                    assert json.loads(resp.read())["ok"] is True
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
