"""Local emulator of the Instagram providers (Graph API business_discovery and the ArrayBobo
RapidAPI), served over real HTTP for tests, demos and throughput benchmarks."""

from sandbox.app import RunningSandbox, build_app, main, serve, start_sandbox
from sandbox.state import (
    DEFAULT_GRAPH_TOKEN,
    DEFAULT_RAPIDAPI_KEY,
    FAULT_MODES,
    FaultSpec,
    SandboxState,
    fingerprint,
)

__all__ = [
    "DEFAULT_GRAPH_TOKEN",
    "DEFAULT_RAPIDAPI_KEY",
    "FAULT_MODES",
    "FaultSpec",
    "RunningSandbox",
    "SandboxState",
    "build_app",
    "fingerprint",
    "main",
    "serve",
    "start_sandbox",
]
