"""Markdown renderings of analytics tables for Dagster's UI (tables and bar charts).

Dagster renders `MetadataValue.md` as GitHub-flavoured markdown; a column of block
characters scaled to the largest value is a bar chart that needs no image support.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

BAR_WIDTH = 24
_BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(value: float, largest: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of `value` on a scale where `largest` fills `width` characters."""
    if not largest or value is None or math.isnan(value) or value <= 0:
        return ""
    eighths = round(8 * width * min(value / largest, 1.0))
    full, rest = divmod(eighths, 8)
    return "█" * full + (_BLOCKS[rest] if rest else "")


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    if not rows:
        return "_no rows_"
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def bar_chart(frame: pd.DataFrame, label: str, value: str, title: str, fmt: str = "{:,.2f}") -> str:
    """Rows of `label`, `value` and a bar; negative values get a bar of their own sign."""
    if frame.empty:
        return f"**{title}**\n\n_no data_"
    largest = float(frame[value].abs().max())
    lines = [f"**{title}**", "", f"| {label} | {value} | |", "|---|---:|---|"]
    for row_label, number in zip(frame[label], frame[value], strict=True):
        sign = "-" if number < 0 else ""
        lines.append(
            f"| {_cell(row_label)} | {fmt.format(number)} | {sign}{bar(abs(number), largest)} |"
        )
    return "\n".join(lines)
