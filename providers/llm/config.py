"""Where GPT questions go: deployments as data.

A deployment is one endpoint and model with its own rate limits. ``kind`` picks the client:
``openai`` (api.openai.com or any OpenAI-compatible server: ``base_url``) or ``azure``
(``base_url`` = the resource endpoint, ``model`` = the deployment name, ``api_version``). Its API
keys live in the credential pool under the deployment's name (secret ``{"api_key": ...}``),
so a 429 cools that key and an invalid key is dead until replaced, like any provider's.

``BEAT_GPT_DEPLOYMENT`` names a JSON file with one deployment (the fields below); without it,
the sandbox's OpenAI endpoint when ``BEAT_SANDBOX_URL`` is set, else api.openai.com.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

__all__ = ["Deployment", "load_deployment"]


@dataclass(frozen=True)
class Deployment:
    name: str = "openai"
    kind: Literal["openai", "azure"] = "openai"
    base_url: str = "https://api.openai.com/v1"
    #: The model asked for; None: each prompt's own ``model``. For Azure, the deployment name.
    model: str | None = None
    api_version: str | None = None
    #: ``json_schema`` (structured output), ``json_object`` (JSON mode) or ``none``.
    response_format: Literal["json_schema", "json_object", "none"] = "json_schema"
    requests_per_minute: int = 500
    tokens_per_minute: int = 200_000
    #: The largest single request (estimated prompt + max_tokens) the token limit admits at
    #: once; the token limit then sustains ``tokens_per_minute - burst + 1`` a minute.
    max_request_tokens: int = 4_000
    timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.kind not in ("openai", "azure"):
            raise ValueError(f"deployment kind must be openai or azure, not {self.kind!r}")
        if self.kind == "azure" and not (self.model and self.api_version):
            raise ValueError("an azure deployment needs model (the deployment) and api_version")
        if not 1 <= self.max_request_tokens <= self.tokens_per_minute:
            raise ValueError("max_request_tokens must be within 1..tokens_per_minute")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Deployment:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown deployment fields {sorted(unknown)}")
        return cls(**dict(data))


def load_deployment(environ: Mapping[str, str] | None = None) -> Deployment:
    env = os.environ if environ is None else environ
    path = env.get("BEAT_GPT_DEPLOYMENT")
    if path:
        return Deployment.from_mapping(json.loads(Path(path).read_text()))
    sandbox = env.get("BEAT_SANDBOX_URL")
    if sandbox:
        # The sandbox's limits are the sandbox plan's (sandbox/openai.py), kept 10% under.
        return Deployment(
            name="openai-sandbox",
            base_url=f"{sandbox.rstrip('/')}/openai/v1",
            requests_per_minute=54_000,
            tokens_per_minute=1_800_000,
        )
    return Deployment()
