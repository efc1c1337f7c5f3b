"""The GPT "crawler": one profile and one prompt in, a validated answer and its raw
completions out, through the ``openai`` client (OpenAI, Azure OpenAI or any compatible
endpoint).

Every call passes the same machinery as a provider call: a key from the credential pool
(a 429 cools it for the time the endpoint names, an invalid key is dead), the deployment's
requests-per-minute and tokens-per-minute limits on the shared rate limiter, a trace event.
Tokens are acquired before the call as the endpoints meter them: the estimated prompt plus
``max_tokens`` (OpenAI and Azure both count ``max_tokens`` at admission, not the tokens later
produced), and handed back if the call was never sent.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import openai

from providers.cooling import cooling_seconds
from providers.credentials import Credential, CredentialSource, Outcome
from providers.errors import (
    BadInput,
    CredentialRejected,
    Deferred,
    NoProviderAvailable,
    ProviderError,
    ProviderFault,
    ProviderUnavailable,
    RateLimited,
    scrub_text,
)
from providers.http import REDACTED, HttpCall, RawResponse
from providers.llm.answer import ChatCompletion, Verdict, judge, parse_completion, reask_message
from providers.llm.config import Deployment
from providers.llm.pricing import PriceTable
from providers.llm.prompts import Prompt, render
from providers.ratelimit import Grant, Limit, LimiterUnavailable, RateLimiter, RateLimitTimeout
from providers.ratelimit.policy import LIMITER_DOWN_RETRY_SECONDS, handle_key

__all__ = ["Asked", "GptCrawler", "deployment_limits", "openai_reset_seconds", "replay"]

KIND_PREFIX = "chat_completion:"
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def openai_reset_seconds(headers: Mapping[str, str]) -> float | None:
    """How long a 429 asks us to wait. An explicit ``retry-after-ms`` / ``Retry-After`` wins;
    else the reset (``x-ratelimit-reset-requests`` / ``-tokens``: "1s", "6m0s", "120ms") of
    the budget that ran out (its ``remaining`` is 0); else the soonest reset given."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.001, float(ms) / 1000.0)
        except ValueError:
            pass
    explicit = cooling_seconds(headers)
    if explicit:
        return explicit
    resets = {}
    for budget in ("requests", "tokens"):
        seconds = _duration(headers.get(f"x-ratelimit-reset-{budget}", ""))
        if seconds:
            resets[budget] = seconds
    spent = [
        resets[b] for b in resets if headers.get(f"x-ratelimit-remaining-{b}", "").strip() == "0"
    ]
    if spent:
        return max(spent)
    return min(resets.values()) if resets else None


def _duration(text: str) -> float | None:
    total, number, found = 0.0, "", False
    i = 0
    text = text.strip()
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = "ms" if text.startswith("ms", i) else ch
        if unit not in _UNITS or not number:
            return None
        total += float(number) * _UNITS[unit]
        number, found = "", True
        i += len(unit)
    return total if found and not number else None


def deployment_limits(deployment: Deployment) -> tuple[Limit, Limit]:
    """(requests per minute, tokens per minute) of one deployment, as limiter specs."""
    key = handle_key(deployment.name)
    return (
        Limit(f"llm:{key}:requests", deployment.requests_per_minute, 60.0),
        Limit(
            f"llm:{key}:tokens",
            deployment.tokens_per_minute,
            60.0,
            burst=deployment.max_request_tokens,
        ),
    )


def estimate_tokens(messages: Sequence[Mapping[str, str]], extra_chars: int = 0) -> int:
    """OpenAI's admission estimate is character-based too: about 4 characters a token."""
    chars = sum(len(m["content"]) for m in messages) + extra_chars
    return math.ceil(chars / 4) + 4 * len(messages)


@dataclass(frozen=True)
class Asked:
    """One profile asked one prompt: the verdict over every ask, and what the asks cost."""

    prompt: Prompt
    verdict: Verdict
    raw: tuple[RawResponse, ...]
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal | None
    #: Why asking stopped early (a re-ask that failed), if it did.
    note: str = ""

    @property
    def asks(self) -> int:
        return len(self.raw)


def replay(
    prompt: Prompt, raws: Sequence[RawResponse], prices: PriceTable, note: str = ""
) -> Asked:
    """Judge stored completions in order, as the live asking did: a backfill re-parses a day
    with this (a parser or rule fix reaches history without calling the endpoint)."""
    verdict: Verdict | None = None
    completions: list[ChatCompletion] = []
    for raw in raws:
        completion = parse_completion(raw.body, raw.provider)
        completions.append(completion)
        verdict = judge(completion, prompt.validator, prompt.rules, verdict)
    if verdict is None:
        raise ValueError("no completion to replay")
    prompt_tokens = sum(c.prompt_tokens for c in completions)
    completion_tokens = sum(c.completion_tokens for c in completions)
    costs = [prices.cost(c.model, c.prompt_tokens, c.completion_tokens) for c in completions]
    priced = [c for c in costs if c is not None]
    cost = sum(priced, Decimal(0)) if len(priced) == len(costs) else None
    return Asked(
        prompt,
        verdict,
        tuple(raws),
        completions[-1].model,
        prompt_tokens,
        completion_tokens,
        cost,
        note,
    )


class GptCrawler:
    """Asks one deployment; build one per run (``aclose`` when done)."""

    def __init__(
        self,
        deployment: Deployment,
        credentials: CredentialSource,
        prices: PriceTable,
        *,
        limiter: RateLimiter | None = None,
        wait_seconds: float = 30.0,
        http_client: Any = None,
    ) -> None:
        self.deployment = deployment
        self.credentials = credentials
        self.prices = prices
        self.limiter = limiter
        self.wait_seconds = wait_seconds
        self.limits = deployment_limits(deployment)
        self.on_call: Callable[[HttpCall], None] | None = None
        #: (prompt, version, handle, input hash) -> answered before? Set per run (a database
        #: lookup): an unchanged input is not asked again.
        self.answered: Callable[[str, str, str, str], bool] | None = None
        self._client = self._build_client(http_client)
        self._per_key: dict[str, Any] = {}

    def _build_client(self, http_client: Any) -> Any:
        d = self.deployment
        common: dict[str, Any] = {
            "api_key": "placeholder",  # each call sets the key it drew from the pool
            "max_retries": 0,  # retries are the queue's (backoff, attempts) and the pool's
            "timeout": d.timeout_seconds,
            "http_client": http_client or openai.DefaultAioHttpClient(),
        }
        if d.kind == "azure":
            return openai.AsyncAzureOpenAI(
                azure_endpoint=d.base_url, api_version=d.api_version, **common
            )
        return openai.AsyncOpenAI(base_url=d.base_url, **common)

    async def aclose(self) -> None:
        await self._client.close()

    def model_for(self, prompt: Prompt) -> str:
        return self.deployment.model or prompt.model

    # -- asking -------------------------------------------------------------------------------

    async def ask(self, prompt: Prompt, data: Mapping[str, Any]) -> Asked:
        """Ask, then re-ask (up to ``prompt.max_reasks``) for fields still empty or UNKNOWN."""
        messages = render(prompt, data)
        raws: list[RawResponse] = []
        verdict: Verdict | None = None
        note = ""
        for _ in range(1 + prompt.max_reasks):
            try:
                raw, completion = await self._chat(prompt, messages)
            except (ProviderFault, Deferred) as err:
                if not raws:
                    raise
                # What the first asks said (and cost) is kept; the request is not lost.
                note = f"re-ask failed: {err}"
                break
            raws.append(raw)
            verdict = judge(completion, prompt.validator, prompt.rules, verdict)
            if verdict.final:
                break
            messages = [
                *messages,
                {"role": "assistant", "content": completion.content or ""},
                {"role": "user", "content": reask_message(verdict)},
            ]
        return replay(prompt, raws, self.prices, note)

    def _request(self, prompt: Prompt, messages: list[dict[str, str]]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_for(prompt),
            "messages": messages,
            "temperature": 0,
            "max_tokens": prompt.max_tokens,
        }
        fmt = self.deployment.response_format
        if fmt == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": prompt.name, "schema": prompt.schema, "strict": False},
            }
        elif fmt == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body

    async def _chat(
        self, prompt: Prompt, messages: list[dict[str, str]]
    ) -> tuple[RawResponse, ChatCompletion]:
        name = self.deployment.name
        request = self._request(prompt, messages)
        schema_chars = len(json.dumps(prompt.schema)) if "response_format" in request else 0
        estimate = estimate_tokens(messages, schema_chars) + prompt.max_tokens
        if estimate > self.deployment.max_request_tokens:
            raise BadInput(
                f"request of ~{estimate} tokens exceeds the deployment's max_request_tokens "
                f"({self.deployment.max_request_tokens})",
                provider=name,
            )
        cred = await self.credentials.pick(name)
        if cred is None:
            failure = NoProviderAvailable(attempts=[(name, "no eligible credential")])
            ask = getattr(self.credentials, "cooling_seconds", None)
            failure.credentials_back_in = ask(name) if ask is not None else None
            raise failure
        try:
            grants = await self._acquire(estimate)
        except BaseException:
            await self.credentials.report(cred, Outcome.released())
            raise
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            client = self._client_for(cred)
            response = await client.chat.completions.with_raw_response.create(**request)
            status = response.status_code
            raw = RawResponse.build(
                provider=name,
                kind=KIND_PREFIX + prompt.ref,
                status=status,
                body=response.content,
                headers=list(response.headers.items()),
                url=str(response.url),
                elapsed_ms=(time.perf_counter() - started) * 1000.0,
                fetched_at=time.time(),
            )
            completion = parse_completion(raw.body, name)
        except openai.APIStatusError as exc:
            status = exc.status_code
            err = await self._status_fault(cred, exc)
            error = str(err)
            raise err from None
        except openai.APIConnectionError as exc:  # timeouts included; maybe never sent
            if not isinstance(exc, openai.APITimeoutError):
                await self._refund(grants)
            await self.credentials.report(cred, Outcome.released())
            reason = (
                "no answer in time" if isinstance(exc, openai.APITimeoutError) else "connection"
            )
            error = scrub_text(f"{reason}: {exc}", cred.secret_values())
            raise ProviderUnavailable(error, provider=name) from None
        except ProviderFault as exc:  # a 200 whose body is not a chat completion
            await self.credentials.report(cred, Outcome.released())
            error = str(exc)
            raise
        finally:
            self._trace(request, status, error, started)
        await self.credentials.report(cred, Outcome.ok())
        return raw, completion

    def _client_for(self, cred: Credential) -> Any:
        client = self._per_key.get(cred.id)
        if client is None:
            client = self._client.with_options(api_key=cred.secret["api_key"])
            self._per_key[cred.id] = client
        return client

    async def _status_fault(self, cred: Credential, exc: openai.APIStatusError) -> ProviderError:
        name = self.deployment.name
        headers = {k.lower(): v for k, v in exc.response.headers.items()}
        message = scrub_text(_error_message(exc), cred.secret_values())
        if exc.status_code == 429:
            ttl = openai_reset_seconds(headers)
            await self.credentials.report(cred, Outcome.rate_limited(ttl, message))
            limited = RateLimited(message, provider=name, status=429, retry_after=ttl)
            # The request did not get a fair try: it waits for the key rather than an attempt.
            failure = NoProviderAvailable(attempts=[(name, str(limited))], errors=[limited])
            failure.credentials_back_in = ttl
            return failure
        if exc.status_code in (401, 403):
            await self.credentials.report(cred, Outcome.dead(message))
            return CredentialRejected(message, provider=name, status=exc.status_code)
        await self.credentials.report(cred, Outcome.released())
        if exc.status_code in (400, 404, 422):
            return BadInput(message, provider=name, status=exc.status_code)
        return ProviderUnavailable(message, provider=name, status=exc.status_code)

    # -- limits -------------------------------------------------------------------------------

    async def _acquire(self, tokens: int) -> list[Grant]:
        """The deployment's request and token limits, both or neither (a request grant is
        handed back when the tokens do not come in time)."""
        if self.limiter is None:
            return []
        requests, token_limit = self.limits
        grants: list[Grant] = []
        try:
            grants.append(await self.limiter.acquire([requests], timeout=self.wait_seconds))
            grants.append(
                await self.limiter.acquire([token_limit], timeout=self.wait_seconds, cost=tokens)
            )
        except RateLimitTimeout as err:
            await self._refund(grants)
            raise Deferred(
                str(err),
                provider=self.deployment.name,
                retry_after=err.retry_after,
                denied_by=err.denied_by,
            ) from None
        except LimiterUnavailable as err:
            await self._refund(grants)
            raise Deferred(
                f"rate limiter unavailable, failing closed: {err}",
                provider=self.deployment.name,
                retry_after=LIMITER_DOWN_RETRY_SECONDS,
            ) from None
        return grants

    async def _refund(self, grants: Sequence[Grant]) -> None:
        if self.limiter is None:
            return
        for grant in grants:
            with contextlib.suppress(LimiterUnavailable):  # else the grant lapses with time
                await self.limiter.refund(grant)

    def _trace(
        self, request: Mapping[str, Any], status: int | None, error: str | None, started: float
    ) -> None:
        if self.on_call is None:
            return
        self.on_call(
            HttpCall(
                provider=self.deployment.name,
                kind="chat_completion",
                method="POST",
                url_redacted=f"{self.deployment.base_url.rstrip('/')}/chat/completions",
                request_headers={"authorization": REDACTED},
                status=status,
                elapsed_ms=(time.perf_counter() - started) * 1000.0,
                error=error,
                at=time.time(),
            )
        )


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return f"{exc.status_code} {inner.get('code') or ''}: {inner['message']}"[:300]
    return f"{exc.status_code}: {exc.message}"[:300]
