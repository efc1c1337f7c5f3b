"""What a family brings to the generic batch runner: its handlers, its writer, its re-parser.

Adding a family (YouTube, Shopify, GPT, ...) is one `FamilyPipeline`: the runner claims,
runs handlers concurrently, stores raw responses and settles statuses the same way for all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine

from beat.store.queue import RequestQueue
from providers.http import RawResponse


@dataclass(frozen=True)
class FlowOutcome:
    """What one request produced: normalized items by kind ("profiles", "posts", ...), the
    provider that answered, and the raw responses a backfill rebuilds them from."""

    provider: str
    items: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    raw: tuple[RawResponse, ...] = field(default=(), repr=False)

    def of(self, kind: str) -> tuple[Any, ...]:
        return self.items.get(kind, ())

    def summary(self) -> str:
        counts = " ".join(f"{kind}={len(values)}" for kind, values in self.items.items())
        return f"provider={self.provider} {counts}".strip()


@dataclass(frozen=True)
class WriteContext:
    """What a family's writer may need besides the connection."""

    queue: RequestQueue | None = None
    #: Queue the media (pictures, thumbnails) of what was written to the media family.
    enqueue_media: bool = False
    #: A rebuild from stored raw responses (a backfill), not a fresh fetch: the writer must
    #: not publish old observations as new events or mark rows as freshly refreshed.
    rebuild: bool = False


#: A flow's work: (crawler, validated params) -> outcome. Raise a typed provider error to fail.
FlowHandler = Callable[[Any, dict[str, Any]], Awaitable[FlowOutcome]]
#: Rows (and their data-change events) of a chunk's outcomes, inside the chunk's transaction.
FamilyWriter = Callable[[Connection, Sequence[FlowOutcome], WriteContext], None]
#: A stored raw record (see `raw_record`) back into the outcome it produced, without network.
Reparser = Callable[[dict[str, Any]], FlowOutcome]
#: Adds a chunk's outcomes to the run's per-kind metadata (tokens, cost, ...), in place.
Tally = Callable[[dict[str, dict[str, Any]], Sequence[FlowOutcome]], None]
#: A family's own figures of one UTC day, by kind (read from its tables), for partition metadata.
DayMetadata = Callable[[Engine, date], dict[str, dict[str, Any]]]


def raw_responses(record: dict[str, Any]) -> tuple[RawResponse, ...]:
    """The provider responses of a stored raw record (see `batch.raw_record`)."""
    return tuple(RawResponse.from_dict(item) for item in record["responses"])


def str_param(params: dict[str, Any], name: str) -> str | None:
    """A request's string param, for keying the per-target rate limit."""
    value = params.get(name)
    return value if isinstance(value, str) else None


def _handle_of(params: dict[str, Any]) -> str | None:
    return str_param(params, "handle")


@dataclass(frozen=True)
class DayCheck:
    """A family's own asset check, evaluated on the days a run wrote (today for a batch, the
    partition's days for a rebuild) from what the warehouse holds: (passed, metadata)."""

    name: str
    description: str
    evaluate: Callable[[Engine, Sequence[date]], tuple[bool, dict[str, Any]]]


@dataclass(frozen=True)
class FamilyPipeline:
    family: str
    #: The item kinds its outcomes carry, in the order reports list them.
    kinds: tuple[str, ...]
    handlers: Mapping[str, FlowHandler]
    write: FamilyWriter
    reparse: Reparser
    #: The target the per-handle rate limit keys on, from a request's params.
    target_of: Callable[[dict[str, Any]], str | None] = _handle_of
    #: Family-specific figures for each kind's materialization metadata, if any.
    tally: Tally | None = None
    #: Family-specific figures of a day for each kind's partition metadata, if any.
    day_metadata: DayMetadata | None = None
    #: Checks of its own, on the first asset of the family (see `DayCheck`).
    checks: tuple[DayCheck, ...] = ()
