"""GPT flows: an Instagram profile's public text in, attributes asked of a GPT out.

Each flow asks one prompt of ``prompts/`` (``fetch_type`` names it); params are the
original's ``{data: {handle, name, bio[, category]}}``.
"""

from __future__ import annotations

from pydantic import Field

from beat.flows.base import Family, Flow, FlowParams


class GptProfile(FlowParams):
    handle: str = Field(pattern=r"^[A-Za-z0-9._]{1,30}$", description="Instagram username")
    name: str | None = Field(default=None, max_length=200)
    bio: str | None = Field(default=None, max_length=2200)
    category: str | None = Field(default=None, max_length=200)


class GptParams(FlowParams):
    data: GptProfile


class GptCategory(GptProfile):
    category: str = Field(min_length=1, max_length=200)


class GptCategoryParams(FlowParams):
    """The audience age/gender prompt reads the profile's category."""

    data: GptCategory


FAMILIES = (
    Family(
        name="gpt",
        platform="GPT",
        job_name="gpt_batch_job",
        sensor_name="gpt_batch_sensor",
        # GPT calls spend the deployment's own request and token limits, not the scrape budget.
        spends_provider_budget=False,
    ),
)

PREFIX = "refresh_instagram_gpt_data"

#: flow -> (prompt it asks, params model, what it adds)
_GPT_FLOWS = {
    f"{PREFIX}_base_gender": ("base_gender", GptParams, "The creator's gender."),
    f"{PREFIX}_base_location": ("base_location", GptParams, "The creator's city, state, country."),
    f"{PREFIX}_base_categ_lang_topics": (
        "base_categ_lang_topics", GptParams, "Categories, languages and 20+ topics.",
    ),
    f"{PREFIX}_audience_age_gender": (
        "audience_age_gender", GptCategoryParams, "Audience shares by age and gender.",
    ),
    f"{PREFIX}_audience_cities": ("audience_cities", GptParams, "Audience shares by city."),
    f"{PREFIX}_gender_location_lang": (
        "base_gender_location_lang", GptParams, "Gender, location and languages in one ask.",
    ),
}  # fmt: skip

FLOWS = tuple(
    Flow(
        name=name,
        platform="INSTAGRAM",
        family="gpt",
        fetch_type=prompt,
        params_model=model,
        description=f"GPT attributes of an Instagram profile: {what}",
    )
    for name, (prompt, model, what) in _GPT_FLOWS.items()
)
