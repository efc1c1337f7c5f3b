"""The Dagster resource reaches S3 through dagster-aws's S3Resource (moto server over HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from beat_dagster.resources import ObjectStoreResource


def test_resource_writes_under_the_s3_prefix(
    moto_endpoint: str, s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    resource = ObjectStoreResource(
        url=f"s3://{bucket}/beat", s3_endpoint_url=moto_endpoint, s3_region_name="us-east-1"
    )
    store = resource.store()
    store.put("assets/profiles/instagram/42.jpg", b"\xff\xd8\xff jpeg", "image/jpeg")
    head = s3.head_object(Bucket=bucket, Key="beat/assets/profiles/instagram/42.jpg")
    assert head["ContentType"] == "image/jpeg"
    assert store.get("assets/profiles/instagram/42.jpg") == b"\xff\xd8\xff jpeg"
    assert list(store.list("assets/")) == ["assets/profiles/instagram/42.jpg"]
