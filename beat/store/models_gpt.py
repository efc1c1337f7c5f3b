"""GPT attributes: one row per profile, prompt version and input, with what it cost."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, Numeric, String, Table, Text, UniqueConstraint

from beat.store.models import Id, Json, UTCDateTime, _created_at, _updated_at, metadata

gpt_attribute = Table(
    "gpt_attribute",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("platform", String, nullable=False),
    Column("handle", String, nullable=False),
    Column("flow", String, nullable=False),
    Column("prompt", String, nullable=False),
    Column("prompt_version", String, nullable=False),
    #: SHA-256 of the profile fields the prompt reads (handle, name, bio, category).
    Column("input_hash", String(64), nullable=False),
    #: ok | incomplete | malformed | refused | truncated | filtered
    Column("status", String, nullable=False),
    Column("reason", Text),
    Column("attributes", Json),
    Column("deployment", String),
    Column("model", String),
    Column("asks", Integer, nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    #: USD, exact from the usage counts and the price table; NULL when the model has no price.
    Column("cost_usd", Numeric(20, 10)),
    Column("request_id", Id),
    #: When the endpoint answered (the last ask), not when the row was written.
    Column("answered_at", UTCDateTime(), nullable=False),
    _created_at(),
    _updated_at(),
    UniqueConstraint("platform", "handle", "prompt", "prompt_version", "input_hash"),
    Index("ix_gpt_attribute_prompt_version", "prompt", "prompt_version"),
    Index("ix_gpt_attribute_answered_at", "answered_at"),
)
