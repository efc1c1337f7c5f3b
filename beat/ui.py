"""`make ui`: Dagster's UI on the demo's world, so nothing launched from it reaches a provider.

`beat demo` writes its settings to `.beat/demo.env` (instance, app database, object folder,
rate limits, limiter wait). This starts the provider sandbox (with its CDN) on a free
loopback port and `dagster dev` with those settings plus the sandbox's URL: a run launched
from the UI scrapes the sandbox, never a real provider. For production, run `dagster dev`
(or dagster-webserver and dagster-daemon) with production settings yourself; see README.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def demo_env_path(home: Path) -> Path:
    return home / "demo.env"


def write_demo_env(home: Path, settings: dict[str, str]) -> Path:
    """KEY=VALUE lines a shell can source (`set -a; . .beat/demo.env; set +a`)."""
    path = demo_env_path(home)
    lines = [f"{key}={value}" for key, value in sorted(settings.items())]
    path.write_text("# Written by `beat demo`; `make ui` loads it.\n" + "\n".join(lines) + "\n")
    path.chmod(0o600)  # database or Redis URLs may carry a password
    return path


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the sandbox exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_sandbox/stats", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the sandbox did not answer on {url} within {seconds:.0f} s")


def ui_env(home: Path, sandbox_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env_file = demo_env_path(home)
    if env_file.exists():
        env.update(read_env_file(env_file))
    else:
        print(f"{env_file} not found (run `make demo` first); using the embedded defaults")
        env.setdefault("BEAT_HOME", str(home))
        env.setdefault("DAGSTER_HOME", str(home / "dagster"))
    env["BEAT_SANDBOX_URL"] = sandbox_url
    env["BEAT_MEDIA_ALLOW_ENDPOINTS"] = sandbox_url
    return env


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop(process: subprocess.Popen[bytes], grace_seconds: float = 20.0) -> int:
    """Ask `dagster dev` to shut down its webserver, daemon and code server; kill it if it
    does not within the grace period."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def main() -> int:
    home = Path(os.environ.get("BEAT_HOME", ROOT / ".beat")).absolute()
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    port = free_port()
    sandbox_url = f"http://127.0.0.1:{port}"
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--cdn"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until_up(sandbox_url, sandbox)
        env = ui_env(home, sandbox_url)
        print(f"beat ui: providers: the sandbox at {sandbox_url}; home {env['BEAT_HOME']}")
        dagster = str(Path(sys.executable).parent / "dagster")
        ui = subprocess.Popen([dagster, "dev", "-w", "workspace.yaml"], cwd=ROOT, env=env)
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as Ctrl-C does
        try:
            return ui.wait()
        except KeyboardInterrupt:
            return _stop(ui)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
