"""Real processes for the operations tests: start one, wait for its port, stop it (and its
children) at the end, and show its log when something goes wrong."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class Process:
    def __init__(self, name: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.proc = proc
        self.log = log

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- last lines of {self.name} ({self.log}) ---\n" + "\n".join(
            text.splitlines()[-lines:]
        )

    def wait_for_port(self, port: int, timeout: float = 60.0) -> None:
        wait_until(lambda: port_open(port), timeout, f"{self.name} listening on {port}", self)

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM to the process group it leads (its own children too), then SIGKILL."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        # Children that outlived their parent (a code server, a run worker).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.returncode


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    *processes: Process,
    interval: float = 0.5,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            if process.proc.poll() is not None:
                raise AssertionError(
                    f"{process.name} exited ({process.proc.returncode}) while waiting for "
                    f"{what}\n{process.tail()}"
                )
        time.sleep(interval)
    logs = "\n".join(p.tail() for p in processes)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")


@contextmanager
def started(
    name: str, args: list[str], env: dict[str, str], logs: Path, cwd: Path = ROOT
) -> Iterator[Process]:
    """``args`` run with this interpreter's bin dir first on PATH, in a session of their own."""
    log = logs / f"{name}.log"
    bin_dir = str(Path(sys.executable).parent)
    full_env = {**os.environ, **env, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, cwd=cwd, env=full_env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    process = Process(name, proc, log)
    try:
        yield process
    finally:
        process.stop()
