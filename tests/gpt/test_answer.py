"""The judge of answers on recorded chat completions: parsing, validation, re-ask merging,
rules, deterministic finishing, prices and rate-limit headers."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from providers.errors import MalformedResponse
from providers.llm import ChatCompletion, judge, parse_completion, price_table, prompt_book
from providers.llm.answer import reask_message
from providers.llm.client import openai_reset_seconds

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers" / "openai"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def completion(content: str | None, finish: str = "stop", refusal: str | None = None):
    return ChatCompletion("c", "gpt-4o-mini", finish, content, refusal, 10, 5)


def test_api_reference_completion_parses() -> None:
    c = parse_completion(fixture("chat_completion.json"))
    assert c.content == "Hello! How can I assist you today?"
    assert (c.model, c.finish_reason, c.refusal) == ("gpt-4.1-2025-04-14", "stop", None)
    assert (c.prompt_tokens, c.completion_tokens) == (19, 10)


def test_structured_output_refusal_is_final_with_its_reason() -> None:
    c = parse_completion(fixture("refusal.json"))
    assert c.content is None  # the documented refusal has no content key at all
    prompt = prompt_book().active("base_gender")
    verdict = judge(c, prompt.validator, prompt.rules)
    assert verdict.status == "refused" and verdict.final
    assert verdict.reason == "refused: I'm sorry, I cannot assist with that request."


def test_azure_length_cut_is_truncated_not_reasked() -> None:
    c = parse_completion(fixture("azure_length.json"))
    assert (c.finish_reason, c.prompt_tokens, c.completion_tokens) == ("length", 96, 40)
    prompt = prompt_book().active("audience_cities")
    verdict = judge(c, prompt.validator, prompt.rules)
    assert verdict.status == "truncated" and verdict.final
    assert "40 completion tokens" in verdict.reason


def test_unknown_field_is_reasked_and_the_reask_fills_only_it() -> None:
    prompt = prompt_book().active("base_gender_location_lang")
    first = judge(parse_completion(fixture("structured_answer.json")), prompt.validator)
    assert first.status == "incomplete" and first.missing == ("gender",)
    assert "gender" in reask_message(first)
    # The re-ask names a gender but also changes the city: only the gender is taken.
    again = {"handle": "nasa", "country": "US", "city": "Houston", "state": "Texas",
             "gender": "OTHER", "languages": ["en"]}  # fmt: skip
    second = judge(completion(json.dumps(again)), prompt.validator, prompt.rules, first)
    assert second.status == "ok"
    assert second.answer["gender"] == "OTHER"
    assert (second.answer["city"], second.answer["state"]) == ("Washington", "District of Columbia")


def test_malformed_content_then_json_on_reask() -> None:
    prompt = prompt_book().active("base_gender")
    first = judge(completion("Sure! The gender is FEMALE."), prompt.validator)
    assert first.status == "malformed" and not first.final
    assert "not a JSON object" in first.reason
    second = judge(completion('{"handle": "x", "gender": "FEMALE"}'), prompt.validator, (), first)
    assert second.status == "ok" and second.answer == {"handle": "x", "gender": "FEMALE"}


def test_schema_violation_names_the_field() -> None:
    prompt = prompt_book().active("base_gender")
    verdict = judge(completion('{"handle": "x", "gender": "robot"}'), prompt.validator)
    assert verdict.status == "incomplete" and verdict.missing == ("gender",)
    missing = judge(completion('{"handle": "x"}'), prompt.validator)
    assert missing.missing == ("gender",)


def _age_gender(male: float, female: float) -> str:
    buckets = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
    shares = {f"{b} male": male for b in buckets} | {f"{b} female": female for b in buckets}
    return json.dumps({"handle": "x", "platform": "instagram", "audience": {"age_gender": shares}})


def test_age_gender_needs_both_genders_and_is_normalised_without_noise() -> None:
    prompt = prompt_book().active("audience_age_gender")
    lopsided = judge(completion(_age_gender(0.16, 0.01)), prompt.validator, prompt.rules)
    assert lopsided.status == "incomplete" and lopsided.missing == ("audience",)
    answers = [
        judge(completion(_age_gender(0.1, 0.05)), prompt.validator, prompt.rules) for _ in range(3)
    ]
    assert all(a.status == "ok" for a in answers)
    assert answers[0].answer == answers[1].answer == answers[2].answer  # no random noise
    shares = answers[0].answer["audience"]["age_gender"]
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-5)
    assert shares["18-24 male"] == pytest.approx(0.1 / 0.9, abs=1e-6)


def test_cities_need_more_than_five_and_others_is_the_rest() -> None:
    prompt = prompt_book().active("audience_cities")

    def answer(n: int, share: float) -> str:
        cities = {f"City{i}": share for i in range(n)}
        return json.dumps({"handle": "x", "platform": "instagram", "audience": {"cities": cities}})

    few = judge(completion(answer(5, 0.1)), prompt.validator, prompt.rules)
    assert few.status == "incomplete"
    ok = judge(completion(answer(8, 0.05)), prompt.validator, prompt.rules)
    assert ok.status == "ok"
    assert ok.answer["audience"]["cities"]["others"] == pytest.approx(0.6)
    over = judge(completion(answer(8, 0.2)), prompt.validator, prompt.rules)
    cities = over.answer["audience"]["cities"]
    assert cities["City0"] == pytest.approx(0.125) and cities["others"] == 0.0


def test_body_that_is_not_a_completion_is_the_endpoints_fault() -> None:
    with pytest.raises(MalformedResponse, match="not a chat completion"):
        parse_completion(b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>")
    with pytest.raises(MalformedResponse):
        parse_completion(b'{"choices": []}')


def test_cost_is_exact_from_usage() -> None:
    prices = price_table()
    c = parse_completion(fixture("chat_completion.json"))
    # gpt-4.1: $2.00 / 1M prompt, $8.00 / 1M completion; the dated snapshot maps to it.
    assert prices.cost(c.model, c.prompt_tokens, c.completion_tokens) == Decimal("0.000118")
    assert prices.cost("gpt-4.1-mini-2025-04-14", 1_000_000, 0) == Decimal("0.40")
    assert prices.cost("some-unpriced-model", 10, 10) is None


def test_rate_limit_headers_name_the_spent_budgets_reset() -> None:
    recorded = json.loads(fixture("rate_limit_headers.json"))
    assert openai_reset_seconds(recorded["headers"]) == 1.0  # requests ran out, not tokens
    tokens_spent = {**recorded["headers"], "x-ratelimit-remaining-requests": "5",
                    "x-ratelimit-remaining-tokens": "0"}  # fmt: skip
    assert openai_reset_seconds(tokens_spent) == 360.0
    assert openai_reset_seconds({"retry-after-ms": "250", **recorded["headers"]}) == 0.25
    assert openai_reset_seconds({"retry-after": "7"}) == 7.0
    assert openai_reset_seconds({}) is None
