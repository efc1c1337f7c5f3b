"""Emulated OpenAI-compatible chat completions, for GPT enrichment.

Routes:

* ``POST /openai/v1/chat/completions`` with ``Authorization: Bearer <key>`` (what
  ``openai.AsyncOpenAI(base_url=f"{url}/openai/v1")`` sends);
* ``POST /openai/openai/deployments/{deployment}/chat/completions?api-version=...`` with an
  ``api-key`` header (what ``openai.AsyncAzureOpenAI(azure_endpoint=f"{url}/openai")`` sends);
* ``GET /_sandbox/openai/usage``: requests answered and tokens billed (what a test compares
  beat's accounting with); ``POST /_sandbox/openai/usage/reset``.

Answers are deterministic (SHA-256 of the handle), shaped by the prompt named in
``response_format.json_schema.name`` (or guessed from the question). Usage counts ~4
characters a token of the messages and of the answer. Rate limits answer like OpenAI: 429 with
``x-ratelimit-*-requests`` / ``-tokens`` headers (resets as "1s", "6m0s") and ``retry-after``.
Some handles are special:

================  =========================================================================
handle contains   answer
================  =========================================================================
``refuse``        ``message.refusal`` set, ``content`` null (a structured-output refusal)
``verbose``       ``finish_reason: "length"``, the JSON cut half way
``garbled``       the first ask gets prose around the JSON (not parseable); re-asks are fine
``mystery``       the first ask says UNKNOWN for gender/city/state/country; re-asks fill them
``enigma``        UNKNOWN on every ask
================  =========================================================================

Fault switches (``POST /_sandbox/faults`` with provider ``openai-sandbox``) work as for every
other provider: ``rate_limit``, ``server_error``, ``slow``, ``malformed``, ``expired_token``.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
from collections import Counter
from typing import Any

from aiohttp import web

from sandbox.gate import ProviderStyle, gate, respond
from sandbox.state import Quota, QuotaView, SandboxState

__all__ = ["EXPIRED_KEY", "KEYS", "NAME", "QUOTA", "register"]

NAME = "openai-sandbox"
KEYS = ("sk-sandbox-0001", "sk-sandbox-0002")
EXPIRED_KEY = "sk-sandbox-revoked"
#: Per key: 30,000 requests a minute (beat's sandbox deployment asks 54,000 over two keys).
QUOTA = Quota(limit=30_000, window_seconds=60.0)
USAGE_KEY: web.AppKey[Counter[str]] = web.AppKey("sandbox_openai_usage", Counter)

_FIELD = re.compile(r"^(Instagram handle|Name|Bio|Category):[ \t]*(.*)$", re.M)
_CITIES = (
    "Mumbai", "Delhi", "Bengaluru", "Chennai", "Kolkata", "Pune", "Hyderabad", "Jaipur",
    "Lucknow", "Ahmedabad", "Surat", "Indore", "Bhopal", "Patna", "Nagpur", "Kochi",
    "Chandigarh", "Goa", "Guwahati", "Mysuru", "Vadodara", "Agra",
)  # fmt: skip
_PLACES = (("Mumbai", "Maharashtra", "IN"), ("Austin", "Texas", "US"), ("Lyon", "Auvergne", "FR"))
_BUCKETS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")


def _error(status: int, message: str, kind: str, code: str | None, headers: Any = None) -> Any:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers)


def _reset(seconds: float) -> str:
    seconds = max(0.001, seconds)
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s" if minutes else f"{rest:.3g}s"


def _limit_headers(view: QuotaView | None) -> dict[str, str]:
    if view is None:
        return {}
    return {
        "x-ratelimit-limit-requests": str(view.limit),
        "x-ratelimit-remaining-requests": str(view.remaining),
        "x-ratelimit-reset-requests": _reset(view.reset_seconds),
        "x-ratelimit-limit-tokens": "2000000",
        "x-ratelimit-remaining-tokens": "1999000",
        "x-ratelimit-reset-tokens": "30ms",
    }


def _rate_limited(retry: float, view: QuotaView | None) -> web.Response:
    headers = {**_limit_headers(view), "retry-after": str(max(1, math.ceil(retry)))}
    headers["x-ratelimit-remaining-requests"] = "0"
    headers["x-ratelimit-reset-requests"] = _reset(retry)
    limit = view.limit if view else QUOTA.limit
    message = (
        f"Rate limit reached for gpt-4o-mini in organization org-sandbox on requests per min "
        f"(RPM): Limit {limit}, Used {limit}, Requested 1. Please try again in {_reset(retry)}."
    )
    return _error(429, message, "requests", "rate_limit_exceeded", headers)


def _server_error(rng: random.Random) -> web.Response:
    return _error(
        500,
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    )


def _bad_key() -> web.Response:
    return _error(
        401,
        "Incorrect API key provided. You can find your API key at https://platform.openai.com.",
        "invalid_request_error",
        "invalid_api_key",
    )


STYLE = ProviderStyle(
    name=NAME,
    unauthorized=_bad_key,
    expired=_bad_key,
    rate_limited=_rate_limited,
    server_error=_server_error,
    ok_headers=_limit_headers,
)


def tokens_of(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _profile(messages: list[dict[str, Any]]) -> dict[str, str]:
    first_user = next((m for m in messages if m.get("role") == "user"), {})
    fields = dict(_FIELD.findall(str(first_user.get("content") or "")))
    return {
        "handle": fields.get("Instagram handle", "").strip(),
        "name": fields.get("Name", "").strip(),
        "category": fields.get("Category", "").strip(),
    }


def _prompt_of(body: dict[str, Any], messages: list[dict[str, Any]]) -> str:
    fmt = body.get("response_format") or {}
    name = (fmt.get("json_schema") or {}).get("name") if isinstance(fmt, dict) else None
    if name:
        return str(name)
    question = str(messages[1].get("content") if len(messages) > 1 else "").lower()
    for key, prompt in (
        ("age and gender", "audience_age_gender"),
        ("cities", "audience_cities"),
        ("topics", "base_categ_lang_topics"),
        ("languages", "base_gender_location_lang"),
        ("where does", "base_location"),
    ):
        if key in question:
            return prompt
    return "base_gender"


def answer_for(prompt: str, profile: dict[str, str], reask: bool) -> dict[str, Any]:
    """The deterministic answer to one question about one profile."""
    handle = profile["handle"]
    seed = int.from_bytes(hashlib.sha256(handle.encode()).digest()[:8], "big")
    rng = random.Random(seed)
    unknown = "enigma" in handle or ("mystery" in handle and not reask)
    gender = "UNKNOWN" if unknown else ("FEMALE", "MALE")[seed % 2]
    city, state, country = ("UNKNOWN",) * 3 if unknown else _PLACES[seed % len(_PLACES)]
    languages = ["en", "hi"][: 1 + seed % 2]
    if prompt == "base_gender":
        return {"handle": handle, "gender": gender}
    if prompt == "base_location":
        return {"handle": handle, "city": city, "state": state, "country": country}
    if prompt == "base_gender_location_lang":
        return {
            "handle": handle, "country": country, "city": city, "state": state,
            "gender": gender, "languages": languages,
        }  # fmt: skip
    if prompt == "base_categ_lang_topics":
        topics = [f"topic {i + seed % 7}" for i in range(20)]
        return {"handle": handle, "categories": ["Lifestyle"], "languages": languages,
                "topics": topics}  # fmt: skip
    if prompt == "audience_age_gender":
        weights = [rng.randint(1, 9) for _ in range(12)]
        total = sum(weights)
        shares = {
            f"{bucket} {sex}": round(weights[2 * i + j] / total, 4)
            for i, bucket in enumerate(_BUCKETS)
            for j, sex in enumerate(("male", "female"))
        }
        return {"handle": handle, "platform": "instagram", "audience": {"age_gender": shares}}
    picked = rng.sample(_CITIES, 20)
    shares = {c: round(0.04 - 0.001 * i, 4) for i, c in enumerate(picked)}
    return {"handle": handle, "platform": "instagram", "audience": {"cities": shares}}


async def chat_completions(request: web.Request) -> web.StreamResponse:
    auth = request.headers.get("Authorization", "")
    key = request.headers.get("api-key") or (auth[7:] if auth.startswith("Bearer ") else None)
    g = await gate(request, STYLE, credential=key, kind="chat_completion")
    if g.response is not None:
        return g.response
    try:
        body = await request.json()
        messages = list(body["messages"])
        model = str(body.get("model") or request.match_info.get("deployment") or "")
    except (ValueError, KeyError, TypeError):
        return _error(400, "We could not parse the JSON body of your request.",
                      "invalid_request_error", None)  # fmt: skip
    profile = _profile(messages)
    handle = profile["handle"]
    reask = len(messages) > 2
    content: str | None = json.dumps(answer_for(_prompt_of(body, messages), profile, reask))
    refusal = None
    finish = "stop"
    if "refuse" in handle:
        content, refusal = None, "I'm sorry, I can't assist with that request."
    elif "verbose" in handle:
        content, finish = (content or "")[: len(content or "") // 2], "length"
    elif "garbled" in handle and not reask:
        content = f"Sure! Here is what I found about {handle}:\n{content}\nHope this helps."
    prompt_tokens = sum(tokens_of(str(m.get("content") or "")) + 4 for m in messages)
    completion_tokens = tokens_of(content or refusal or "")
    usage = request.app[USAGE_KEY]
    usage["requests"] += 1
    usage["prompt_tokens"] += prompt_tokens
    usage["completion_tokens"] += completion_tokens
    completion_id = f"chatcmpl-sbx{hashlib.sha1(json.dumps(messages).encode()).hexdigest()[:20]}"
    completion: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": f"{model}-2024-07-18" if model == "gpt-4o-mini" else model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "refusal": refusal,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_sandbox01",
    }
    return respond(request, g, json.dumps(completion).encode(),
                   headers={"x-request-id": f"req_{completion_id[-12:]}"})  # fmt: skip


async def usage_handler(request: web.Request) -> web.Response:
    usage: Counter[str] = request.app[USAGE_KEY]
    return web.json_response(dict(usage))


async def usage_reset(request: web.Request) -> web.Response:
    request.app[USAGE_KEY].clear()
    return web.json_response({"ok": True})


def register(app: web.Application, state: SandboxState) -> None:
    state.add_provider(
        NAME,
        keys=KEYS,
        expired_keys=[EXPIRED_KEY],
        quota=QUOTA,
        secret=lambda key: {"api_key": key},
    )
    app[USAGE_KEY] = Counter()
    app.router.add_post("/openai/v1/chat/completions", chat_completions)
    app.router.add_post(
        "/openai/openai/deployments/{deployment}/chat/completions", chat_completions
    )
    app.router.add_get("/_sandbox/openai/usage", usage_handler)
    app.router.add_post("/_sandbox/openai/usage/reset", usage_reset)
