"""Local emulator of every provider beat calls (Instagram Graph API and RapidAPI scrapers,
YouTube Data API and scrapers, Shopify), served over real HTTP for tests, demos and
benchmarks, with per-credential quotas and fault switches.

``RATE_LIMITS_FILE`` is the rate-limit override (``BEAT_RATE_LIMITS``) to use against the
sandbox: the providers' own specs stay, the global budget guarding paid quotas is raised.
"""

from pathlib import Path

from sandbox.app import RunningSandbox, build_app, main, serve, start_sandbox
from sandbox.state import (
    DEFAULT_GRAPH_TOKEN,
    DEFAULT_RAPIDAPI_KEY,
    FAULT_MODES,
    FaultSpec,
    SandboxState,
    fingerprint,
)

RATE_LIMITS_FILE = Path(__file__).with_name("ratelimits.json")

__all__ = [
    "DEFAULT_GRAPH_TOKEN",
    "DEFAULT_RAPIDAPI_KEY",
    "FAULT_MODES",
    "RATE_LIMITS_FILE",
    "FaultSpec",
    "RunningSandbox",
    "SandboxState",
    "build_app",
    "fingerprint",
    "main",
    "serve",
    "start_sandbox",
]
