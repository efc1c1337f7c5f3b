"""Prompt files: every version loads, none is edited in place, a new version is the one
asked while the old stays readable."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from beat.pipeline.gpt import idempotency_key, input_hash
from providers.llm import PromptBook, prompt_book, render
from providers.llm.prompts import PROMPTS_DIR

PROFILE = {"handle": "nasa", "name": "NASA", "bio": "Explore {the} universe", "category": "Gov"}


def test_every_prompt_loads_at_temperature_zero() -> None:
    book = prompt_book()
    assert sorted(book.prompts) == [
        "audience_age_gender", "audience_cities", "base_categ_lang_topics", "base_gender",
        "base_gender_location_lang", "base_location",
    ]  # fmt: skip
    for versions in book.prompts.values():
        for prompt in versions.values():
            assert prompt.temperature == 0.0
            assert prompt.schema["type"] == "object"


def test_released_prompt_files_are_never_edited_in_place() -> None:
    lock = json.loads((PROMPTS_DIR / "versions.lock").read_text())
    files = {str(p.relative_to(PROMPTS_DIR)): p for p in sorted(PROMPTS_DIR.glob("*/*.yaml"))}
    assert set(lock) <= set(files), "a released prompt version was deleted"
    for name, digest in lock.items():
        assert hashlib.sha256(files[name].read_bytes()).hexdigest() == digest, (
            f"{name} changed: copy it to a new version instead (and add it to versions.lock)"
        )


def test_a_new_version_is_asked_and_the_old_stays_readable(tmp_path: Path) -> None:
    shutil.copytree(PROMPTS_DIR, tmp_path / "prompts")
    v1 = tmp_path / "prompts" / "base_gender" / "v1.yaml"
    v2 = v1.with_name("v2.yaml")
    v2.write_text(v1.read_text().replace("version: v1", "version: v2").replace(
        "What is the creator's gender", "Which gender does the creator present as"))  # fmt: skip
    book = PromptBook(tmp_path / "prompts")
    assert book.active("base_gender").version == "v2"
    assert book.get("base_gender@v1").user == prompt_book().active("base_gender").user
    old, new = book.get("base_gender@v1"), book.active("base_gender")
    # Same profile: same input hash, but a new idempotency key (a new ask).
    assert input_hash(old, PROFILE) == input_hash(new, PROFILE)
    flow = "refresh_instagram_gpt_data_base_gender"
    assert idempotency_key(flow, old, PROFILE) != idempotency_key(flow, new, PROFILE)


def test_bad_prompt_files_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "base_gender"
    folder.mkdir()
    good = (PROMPTS_DIR / "base_gender" / "v1.yaml").read_text()
    (folder / "v1.yaml").write_text(good.replace("temperature: 0", "temperature: 0.7"))
    with pytest.raises(ValueError, match="temperature must be 0"):
        PromptBook(tmp_path)
    (folder / "v1.yaml").write_text(good.replace("version: v1", "version: v9"))
    with pytest.raises(ValueError, match="must match the folder and file name"):
        PromptBook(tmp_path)


def test_input_hash_reads_only_what_the_prompt_reads() -> None:
    book = prompt_book()
    gender, audience = book.active("base_gender"), book.active("audience_age_gender")
    other_category = {**PROFILE, "category": "Science"}
    assert input_hash(gender, PROFILE) == input_hash(gender, other_category)
    assert input_hash(audience, PROFILE) != input_hash(audience, other_category)
    assert input_hash(gender, PROFILE) != input_hash(gender, {**PROFILE, "bio": "new bio"})


def test_render_fills_the_templates_and_keeps_braces_of_a_bio() -> None:
    messages = render(prompt_book().active("base_gender"), PROFILE)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "Instagram handle: nasa" in messages[1]["content"]
    assert "Bio: Explore {the} universe" in messages[1]["content"]
