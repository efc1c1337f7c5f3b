"""Versioned prompts: one YAML file per prompt and version under ``prompts/<prompt>/``.

The newest version of each prompt is the one asked; older versions stay readable, so a
stored answer can be re-parsed with the prompt that produced it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

__all__ = ["PROMPTS_DIR", "Prompt", "PromptBook", "prompt_book", "render"]

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
_VERSION = re.compile(r"^v(\d+)(?:\.(\d+))?$")
_FIELDS = {
    "prompt", "version", "model", "temperature", "max_tokens", "max_reasks",
    "system", "user", "schema", "rules",
}  # fmt: skip
#: Input fields a template may use; a missing one renders as an empty string.
INPUT_FIELDS = ("handle", "name", "bio", "category")


def version_key(version: str) -> tuple[int, int]:
    match = _VERSION.match(version)
    if match is None:
        raise ValueError(f"prompt version {version!r} must look like v3 or v0.12")
    return int(match.group(1)), int(match.group(2) or 0)


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    model: str
    temperature: float
    max_tokens: int
    max_reasks: int
    system: str
    user: str
    schema: Mapping[str, Any]
    rules: tuple[str, ...] = ()
    #: SHA-256 of the file: what the lock in ``prompts/versions.lock`` pins.
    sha256: str = ""
    validator: Draft202012Validator = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    @property
    def ref(self) -> str:
        """``base_gender@v1``: how results and raw records name the prompt."""
        return f"{self.name}@{self.version}"

    @classmethod
    def from_file(cls, path: Path) -> Prompt:
        text = path.read_bytes()
        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a prompt file is a YAML mapping")
        unknown = set(data) - _FIELDS
        missing = _FIELDS - {"rules"} - set(data)
        if unknown or missing:
            raise ValueError(f"{path}: unknown fields {sorted(unknown)}, missing {sorted(missing)}")
        if data["version"] != path.stem or data["prompt"] != path.parent.name:
            raise ValueError(f"{path}: prompt/version must match the folder and file name")
        version_key(data["version"])
        if float(data["temperature"]) != 0.0:
            raise ValueError(f"{path}: temperature must be 0 (answers must be reproducible)")
        Draft202012Validator.check_schema(data["schema"])
        from providers.llm.answer import RULES  # the named checks live with the judge

        unknown_rules = set(data.get("rules") or ()) - set(RULES)
        if unknown_rules:
            raise ValueError(f"{path}: unknown rules {sorted(unknown_rules)}")
        return cls(
            name=data["prompt"],
            version=data["version"],
            model=str(data["model"]),
            temperature=0.0,
            max_tokens=int(data["max_tokens"]),
            max_reasks=int(data["max_reasks"]),
            system=str(data["system"]),
            user=str(data["user"]),
            schema=data["schema"],
            rules=tuple(data.get("rules") or ()),
            sha256=hashlib.sha256(text).hexdigest(),
            validator=Draft202012Validator(data["schema"]),
        )


def render(prompt: Prompt, data: Mapping[str, Any]) -> list[dict[str, str]]:
    """The chat messages for one profile (str.format_map: braces in a bio are not fields)."""
    values = {key: str(data.get(key) or "") for key in INPUT_FIELDS}
    return [
        {"role": "system", "content": prompt.system.strip()},
        {"role": "user", "content": prompt.user.strip().format_map(values)},
    ]


class PromptBook:
    """Every prompt version under a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.prompts: dict[str, dict[str, Prompt]] = {}
        for path in sorted(root.glob("*/*.yaml")):
            prompt = Prompt.from_file(path)
            self.prompts.setdefault(prompt.name, {})[prompt.version] = prompt
        if not self.prompts:
            raise ValueError(f"no prompt files under {root}")

    def active(self, name: str) -> Prompt:
        versions = self.prompts.get(name)
        if not versions:
            raise KeyError(f"no prompt named {name!r} under {self.root}")
        return versions[max(versions, key=version_key)]

    def get(self, ref: str) -> Prompt:
        """A prompt by ``name@version``, old versions included."""
        name, _, version = ref.partition("@")
        try:
            return self.prompts[name][version]
        except KeyError:
            raise KeyError(f"no prompt {ref!r} under {self.root}") from None

    def active_versions(self) -> dict[str, str]:
        return {name: self.active(name).version for name in sorted(self.prompts)}


@cache
def _book(root: str) -> PromptBook:
    return PromptBook(Path(root))


def prompt_book(root: str | os.PathLike[str] | None = None) -> PromptBook:
    """The prompts of ``BEAT_GPT_PROMPTS`` (default: the repository's ``prompts/``), read once."""
    chosen = root or os.environ.get("BEAT_GPT_PROMPTS") or PROMPTS_DIR
    return _book(str(Path(chosen).resolve()))
