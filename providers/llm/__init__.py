"""GPT enrichment's provider side: versioned prompts, the deployment client, the judge of
answers and the price table. No Dagster import (like every provider)."""

from providers.llm.answer import ChatCompletion, Verdict, judge, parse_completion
from providers.llm.client import Asked, GptCrawler, deployment_limits, replay
from providers.llm.config import Deployment, load_deployment
from providers.llm.pricing import PriceTable, price_table
from providers.llm.prompts import Prompt, PromptBook, prompt_book, render

__all__ = [
    "Asked",
    "ChatCompletion",
    "Deployment",
    "GptCrawler",
    "PriceTable",
    "Prompt",
    "PromptBook",
    "Verdict",
    "deployment_limits",
    "judge",
    "load_deployment",
    "parse_completion",
    "price_table",
    "prompt_book",
    "render",
    "replay",
]
