"""Chat completions in, validated answers out: pure functions, no I/O.

``parse_completion`` reads one ``/v1/chat/completions`` body (OpenAI, Azure OpenAI or any
compatible endpoint). ``judge`` decides what an answer is worth for a prompt:

* ``ok``: valid against the prompt's JSON Schema and rules, nothing left empty or UNKNOWN;
* ``incomplete``: well-formed, but some fields are empty or UNKNOWN (or fail the schema):
  worth a re-ask that asks for those fields only, and whose answer fills only them;
* ``malformed``: the content is not a JSON object (a re-ask may help);
* ``refused``, ``truncated`` (``finish_reason: length``), ``filtered`` (``content_filter``):
  final, a re-ask at temperature 0 would say the same.

Nothing here is random: the same completions always give the same answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from providers.errors import MalformedResponse

__all__ = [
    "FINAL",
    "RULES",
    "ChatCompletion",
    "Verdict",
    "judge",
    "parse_completion",
    "reask_message",
]

UNKNOWN = "UNKNOWN"
#: Statuses after which no re-ask is made.
FINAL = frozenset({"ok", "refused", "truncated", "filtered"})


@dataclass(frozen=True)
class ChatCompletion:
    """What one completion said, and what it cost in tokens."""

    id: str
    model: str
    finish_reason: str
    content: str | None
    refusal: str | None
    prompt_tokens: int
    completion_tokens: int


def parse_completion(body: bytes, provider: str = "openai") -> ChatCompletion:
    """One chat completion body; a body that is not one is the endpoint's fault."""
    try:
        data = json.loads(body)
        choice = data["choices"][0]
        message = choice["message"]
        usage = data.get("usage") or {}
        return ChatCompletion(
            id=str(data.get("id", "")),
            model=str(data["model"]),
            finish_reason=str(choice.get("finish_reason") or ""),
            content=message.get("content"),
            refusal=message.get("refusal"),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        preview = body[:120].decode("utf-8", "replace")
        raise MalformedResponse(
            f"not a chat completion ({type(exc).__name__}): {preview!r}", provider=provider
        ) from None


@dataclass(frozen=True)
class Verdict:
    status: str
    answer: dict[str, Any] = field(default_factory=dict)
    #: Top-level fields still empty, UNKNOWN or invalid (what a re-ask asks for).
    missing: tuple[str, ...] = ()
    reason: str = ""

    @property
    def final(self) -> bool:
        return self.status in FINAL


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip() or value.strip().upper() == UNKNOWN
    if isinstance(value, list | dict):
        return len(value) == 0
    return False


def _merge(previous: Mapping[str, Any], new: Mapping[str, Any], fill: Sequence[str]) -> dict:
    """The previous answer, with only the fields it lacked taken from the new one."""
    merged = dict(previous)
    for key in fill:
        if key in new and not _empty(new[key]):
            merged[key] = new[key]
    return merged


def judge(
    completion: ChatCompletion,
    schema_validator: Any,
    rules: Sequence[str] = (),
    previous: Verdict | None = None,
) -> Verdict:
    """What this completion adds to ``previous`` (the answer so far, from earlier asks)."""
    if completion.refusal:
        return Verdict("refused", reason=f"refused: {completion.refusal.strip()[:200]}")
    if completion.finish_reason == "length":
        return Verdict(
            "truncated",
            reason=f"truncated: answer cut at {completion.completion_tokens} completion tokens",
        )
    if completion.finish_reason == "content_filter":
        return Verdict("filtered", reason="filtered: the endpoint's content filter withheld it")
    try:
        new = json.loads(completion.content or "")
    except ValueError:
        new = None
    if not isinstance(new, dict):
        if previous is not None and previous.answer:
            return Verdict(previous.status, previous.answer, previous.missing, previous.reason)
        preview = (completion.content or "")[:80]
        return Verdict("malformed", reason=f"malformed: content is not a JSON object: {preview!r}")
    answer = (
        new
        if previous is None or not previous.answer
        else _merge(previous.answer, new, previous.missing)
    )
    return _check(answer, schema_validator, rules)


def _check(answer: dict[str, Any], validator: Any, rules: Sequence[str]) -> Verdict:
    problems: dict[str, str] = {}
    for error in validator.iter_errors(answer):
        where = str(error.path[0]) if error.path else _required_field(error) or "answer"
        problems.setdefault(where, error.message[:120])
    for key, value in answer.items():
        if _empty(value):
            problems.setdefault(key, "empty or UNKNOWN")
    for name in rules:
        for key, message in RULES[name](answer).items():
            problems.setdefault(key, message)
    if not problems:
        return Verdict("ok", _finish(answer, rules))
    missing = tuple(sorted(problems))
    detail = "; ".join(f"{k}: {v}" for k, v in sorted(problems.items()))
    return Verdict("incomplete", answer, missing, f"incomplete: {detail}"[:300])


def _required_field(error: Any) -> str | None:
    if error.validator == "required" and error.message.startswith("'"):
        return str(error.message.split("'")[1])
    return None


def reask_message(verdict: Verdict) -> str:
    if verdict.status == "malformed":
        return "Your answer was not a JSON object. Answer again with the JSON object only."
    fields = ", ".join(verdict.missing)
    return (
        f"These fields are missing, empty, UNKNOWN or invalid: {fields}. Answer again with the"
        " whole JSON object; give your best estimate for those fields."
    )


# ------------------------------------------------------------------ rules and finishing


def _shares(answer: Mapping[str, Any], block: str) -> dict[str, float] | None:
    audience = answer.get("audience")
    shares = audience.get(block) if isinstance(audience, dict) else None
    if not isinstance(shares, dict):
        return None
    return {k: float(v) for k, v in shares.items() if isinstance(v, int | float)}


def _age_gender_balance(answer: Mapping[str, Any]) -> dict[str, str]:
    shares = _shares(answer, "age_gender")
    if not shares:
        return {}
    male = sum(v for k, v in shares.items() if k.endswith(" male"))
    female = sum(v for k, v in shares.items() if k.endswith(" female"))
    total = male + female
    if total <= 0 or male / total < 0.25 or female / total < 0.25:
        return {"audience": f"each gender needs 25% of the audience (male {male:.2f}, female "
                            f"{female:.2f})"}  # fmt: skip
    return {}


def _city_shares(answer: Mapping[str, Any]) -> dict[str, str]:
    shares = _shares(answer, "cities")
    if shares is not None and len(shares) <= 5:
        return {"audience": f"more than 5 cities needed, got {len(shares)}"}
    return {}


def _normalise_age_gender(answer: dict[str, Any]) -> dict[str, Any]:
    shares = _shares(answer, "age_gender") or {}
    total = sum(shares.values())
    normalised = {k: round(v / total, 6) for k, v in shares.items()} if total else shares
    return {**answer, "audience": {**answer["audience"], "age_gender": normalised}}


def _scale_cities(answer: dict[str, Any]) -> dict[str, Any]:
    shares = _shares(answer, "cities") or {}
    shares.pop("others", None)
    total = sum(shares.values())
    scaled = {k: round(v / total, 6) for k, v in shares.items()} if total > 1 else shares
    others = round(max(0.0, 1.0 - sum(scaled.values())), 6)
    return {**answer, "audience": {**answer["audience"], "cities": {**scaled, "others": others}}}


#: Named checks a prompt lists under ``rules``: answer -> {field: problem}.
RULES: dict[str, Callable[[Mapping[str, Any]], dict[str, str]]] = {
    "age_gender_balance": _age_gender_balance,
    "city_shares": _city_shares,
}
_FINISHERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "age_gender_balance": _normalise_age_gender,
    "city_shares": _scale_cities,
}


def _finish(answer: dict[str, Any], rules: Sequence[str]) -> dict[str, Any]:
    """Deterministic post-processing of a valid answer (the original added random noise)."""
    for name in rules:
        finisher = _FINISHERS.get(name)
        if finisher is not None:
            answer = finisher(answer)
    return answer
