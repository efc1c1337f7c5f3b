"""What tokens cost, as data: USD per 1M prompt and completion tokens, by model.

Figures are the vendors' list prices (OpenAI pricing page; Azure OpenAI's global deployments
charge the same). A completion names the model that answered, often a dated snapshot
(``gpt-4o-mini-2024-07-18``): the longest matching prefix prices it. ``BEAT_GPT_PRICES`` (a
JSON file ``{"model": {"prompt": usd, "completion": usd}}``) adds or overrides entries.
Money is ``Decimal``: a cost is exact, never a float sum.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["PRICES", "Price", "PriceTable", "price_table"]

PER_TOKENS = Decimal(1_000_000)

PRICES: dict[str, dict[str, str]] = {
    "gpt-4o-mini": {"prompt": "0.15", "completion": "0.60"},
    "gpt-4o": {"prompt": "2.50", "completion": "10.00"},
    "gpt-4.1-nano": {"prompt": "0.10", "completion": "0.40"},
    "gpt-4.1-mini": {"prompt": "0.40", "completion": "1.60"},
    "gpt-4.1": {"prompt": "2.00", "completion": "8.00"},
    "gpt-35-turbo": {"prompt": "0.50", "completion": "1.50"},  # Azure's name
    "gpt-3.5-turbo": {"prompt": "0.50", "completion": "1.50"},
}


@dataclass(frozen=True)
class Price:
    prompt_per_million: Decimal
    completion_per_million: Decimal

    def cost(self, prompt_tokens: int, completion_tokens: int) -> Decimal:
        return (
            prompt_tokens * self.prompt_per_million
            + completion_tokens * self.completion_per_million
        ) / PER_TOKENS


class PriceTable:
    def __init__(self, entries: Mapping[str, Mapping[str, Any]]) -> None:
        self.prices = {
            model.lower(): Price(Decimal(str(p["prompt"])), Decimal(str(p["completion"])))
            for model, p in entries.items()
        }

    def price(self, model: str) -> Price | None:
        name = model.lower()
        matches = [m for m in self.prices if name == m or name.startswith(m + "-")]
        return self.prices[max(matches, key=len)] if matches else None

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
        """USD, exact; None when the model has no price (shown as such, never as 0)."""
        price = self.price(model)
        return None if price is None else price.cost(prompt_tokens, completion_tokens)


def price_table(path: str | None = None) -> PriceTable:
    chosen = path or os.environ.get("BEAT_GPT_PRICES")
    extra = json.loads(Path(chosen).read_text()) if chosen else {}
    return PriceTable({**PRICES, **extra})
