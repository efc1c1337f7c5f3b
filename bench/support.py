"""What the benchmarks share: a free port, and a sandbox in a process of its own (so the
client side is what gets measured)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sandbox(*options: str) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m sandbox --port P *options``; returns the process and its URL once it listens."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), *options], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("sandbox did not start")


def peak_rss_kib() -> int:
    """This process's own peak resident set (Linux VmHWM). Not ru_maxrss, which Linux carries
    across fork and exec from the parent, so a child would report its parent's peak."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1])
