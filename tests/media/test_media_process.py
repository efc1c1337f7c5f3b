"""process_media end to end: sandbox CDN over HTTP -> S3 API server (moto) over HTTP, asset_log
on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from beat.media import FetchPolicy, MediaItem, MediaOutcome, media_items_from, process_media
from beat.objects import LocalFolderStore, S3Store
from beat.store.db import make_engine, upgrade
from beat.store.models import asset_log
from providers.model import InstagramPost, InstagramProfile
from sandbox import RunningSandbox
from sandbox.cdn import media_body
from tests.media.conftest import object_keys, s3_client

MiB = 1024 * 1024


def expected(kind: str, stem: str, ext: str, size: int | None = None) -> bytes:
    _, chunks = media_body(kind, stem, ext, size)
    return b"".join(chunks)


def rows(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        return {r.entity_id: dict(r._mapping) for r in conn.execute(select(asset_log))}


def item(sb: RunningSandbox, entity: str, file: str, *, kind: str = "media", etype: str = "POST",
         asset_type: str = "IMAGE", **url_args: Any) -> MediaItem:  # fmt: skip
    url = sb.cdn.url_for(kind, file, **url_args)
    return MediaItem(etype, entity, "INSTAGRAM", asset_type, url)


def by_entity(outcomes: list[MediaOutcome]) -> dict[str, MediaOutcome]:
    return {o.item.entity_id: o for o in outcomes}


async def test_uploads_with_the_key_layout_and_the_type_from_the_bytes(
    sb: RunningSandbox, policy: FetchPolicy, store: S3Store, s3: Any, bucket: str, engine: Engine
) -> None:
    items = [
        item(sb, "17841400000000123", "17841400000000123.jpg", kind="profile", etype="PROFILE"),
        item(sb, "C0reel_1", "C0reel_1.mp4", asset_type="VIDEO"),
        item(sb, "C0png-2", "C0png-2.jpg"),  # a .jpg URL ...
    ]
    items[2] = MediaItem("POST", "C0png-2", "INSTAGRAM", "IMAGE",
                         sb.cdn.url_for("media", "C0png-2.png"))  # fmt: skip
    outcomes = await process_media(items, store=store, engine=engine, policy=policy)
    assert [o.status for o in outcomes] == ["uploaded"] * 3
    assert [o.key for o in outcomes] == [
        "assets/profiles/instagram/17841400000000123.jpg",
        "assets/posts/instagram/C0reel_1.mp4",
        "assets/posts/instagram/C0png-2.png",
    ]
    assert object_keys(s3, bucket) == sorted(o.key for o in outcomes if o.key)
    for outcome, (kind, stem, ext, ctype) in zip(
        outcomes,
        [("profile", "17841400000000123", "jpg", "image/jpeg"),
         ("media", "C0reel_1", "mp4", "video/mp4"),
         ("media", "C0png-2", "png", "image/png")],
        strict=True,
    ):  # fmt: skip
        head = s3.head_object(Bucket=bucket, Key=outcome.key)
        body = expected(kind, stem, ext)
        assert head["ContentType"] == ctype == outcome.content_type
        assert head["ContentLength"] == len(body) == outcome.bytes
        assert store.get(outcome.key or "") == body
        assert outcome.content_hash == hashlib.sha256(body).hexdigest()
    stored = rows(engine)
    assert stored["C0reel_1"]["asset_type"] == "VIDEO"
    profile = stored["17841400000000123"]
    assert (profile["entity_type"], profile["platform"], profile["asset_type"]) == (
        "PROFILE", "INSTAGRAM", "IMAGE",
    )  # fmt: skip
    assert profile["asset_url"] == "assets/profiles/instagram/17841400000000123.jpg"
    assert profile["original_url"] == items[0].original_url
    assert profile["content_hash"] == outcomes[0].content_hash


async def test_a_known_url_is_not_fetched_again(
    sb: RunningSandbox, policy: FetchPolicy, store: S3Store, s3: Any, bucket: str, engine: Engine
) -> None:
    first = item(sb, "C0same", "C0same.jpg")
    [outcome] = await process_media([first], store=store, engine=engine, policy=policy)
    assert outcome.status == "uploaded"
    served = sb.cdn.answers["served"]
    keys = object_keys(s3, bucket)

    again = await process_media([first], store=store, engine=engine, policy=policy)
    assert [(o.status, o.key) for o in again] == [("already_stored", outcome.key)]
    # Another entity naming the same URL points at the stored key: no fetch, no upload.
    other = MediaItem("PROFILE", "999", "INSTAGRAM", "IMAGE", first.original_url)
    [shared] = await process_media([other], store=store, engine=engine, policy=policy)
    assert (shared.status, shared.key) == ("deduplicated", outcome.key)
    assert shared.reason == "same URL as POST C0same"
    assert sb.cdn.answers["served"] == served
    assert object_keys(s3, bucket) == keys
    assert rows(engine)["999"]["asset_url"] == outcome.key


async def test_the_same_url_twice_in_one_call_is_fetched_once(
    sb: RunningSandbox, policy: FetchPolicy, store: S3Store, s3: Any, bucket: str, engine: Engine
) -> None:
    url = sb.cdn.url_for("media", "twice.jpg")
    items = [MediaItem("POST", f"C0twice{i}", "INSTAGRAM", "IMAGE", url) for i in range(3)]
    outcomes = await process_media(items, store=store, engine=engine, policy=policy)
    assert [o.status for o in outcomes] == ["uploaded", "deduplicated", "deduplicated"]
    assert {o.key for o in outcomes} == {"assets/posts/instagram/C0twice0.jpg"}
    assert sb.cdn.answers["served"] == 1
    assert object_keys(s3, bucket) == ["assets/posts/instagram/C0twice0.jpg"]
    assert {r["asset_url"] for r in rows(engine).values()} == {
        "assets/posts/instagram/C0twice0.jpg"
    }


async def test_the_same_content_is_uploaded_once(
    sb: RunningSandbox, policy: FetchPolicy, store: S3Store, s3: Any, bucket: str, engine: Engine
) -> None:
    # Different URLs (a signed extra parameter) serving identical bytes.
    a = item(sb, "C0dup_a", "dup.jpg", extra={"v": "1"})
    b = item(sb, "C0dup_b", "dup.jpg", extra={"v": "2"})
    c = item(sb, "C0dup_c", "dup.jpg", extra={"v": "3"})
    [first] = await process_media([a], store=store, engine=engine, policy=policy)
    assert object_keys(s3, bucket) == ["assets/posts/instagram/C0dup_a.jpg"]
    outcomes = await process_media([b, c], store=store, engine=engine, policy=policy)
    assert [o.status for o in outcomes] == ["deduplicated", "deduplicated"]
    assert {o.key for o in outcomes} == {first.key}
    assert outcomes[0].reason == "same content as POST C0dup_a"
    assert object_keys(s3, bucket) == ["assets/posts/instagram/C0dup_a.jpg"]  # count unchanged
    stored = rows(engine)
    assert stored["C0dup_b"]["asset_url"] == first.key
    assert stored["C0dup_b"]["content_hash"] == first.content_hash
    assert stored["C0dup_b"]["original_url"] == b.original_url
    assert sb.cdn.answers["served"] == 3  # each URL fetched once

    # Within one call too: a, b, c of new content, concurrently.
    fresh = [item(sb, f"C0new_{i}", "new.jpg", extra={"v": str(i)}) for i in range(5)]
    outcomes = await process_media(fresh, store=store, engine=engine, policy=policy)
    assert sorted(o.status for o in outcomes) == ["deduplicated"] * 4 + ["uploaded"]
    assert len({o.key for o in outcomes}) == 1
    assert len(object_keys(s3, bucket)) == 2


async def test_changed_media_hands_the_old_bytes_to_entities_sharing_them(
    sb: RunningSandbox, policy: FetchPolicy, store: S3Store, s3: Any, bucket: str, engine: Engine
) -> None:
    # Two profiles with the same (default) picture share the first one's key.
    a = item(sb, "111", "avatar.jpg", kind="profile", etype="PROFILE", extra={"u": "a"})
    b = item(sb, "222", "avatar.jpg", kind="profile", etype="PROFILE", extra={"u": "b"})
    outcomes = await process_media([a, b], store=store, engine=engine, policy=policy)
    assert {o.key for o in outcomes} == {"assets/profiles/instagram/111.jpg"}
    # Profile 111 uploads a real picture: its key gets new bytes, 222 keeps the old ones.
    a2 = item(sb, "111", "real.jpg", kind="profile", etype="PROFILE")
    [changed] = await process_media([a2], store=store, engine=engine, policy=policy)
    assert (changed.status, changed.key) == ("uploaded", "assets/profiles/instagram/111.jpg")
    stored = rows(engine)
    assert stored["222"]["asset_url"] == "assets/profiles/instagram/222.jpg"
    assert store.get("assets/profiles/instagram/222.jpg") == expected("profile", "avatar", "jpg")
    assert store.get("assets/profiles/instagram/111.jpg") == expected("profile", "real", "jpg")
    assert (
        hashlib.sha256(store.get(stored["222"]["asset_url"])).hexdigest()
        == stored["222"]["content_hash"]
    )


async def test_permanent_and_retryable_outcomes(
    sb: RunningSandbox, policy: FetchPolicy, store: S3Store, s3: Any, bucket: str, engine: Engine
) -> None:
    items = [
        item(sb, "C0expired", "C0expired.jpg", expires=1_700_000_000),
        MediaItem("POST", "C0html", "INSTAGRAM", "IMAGE", f"{sb.url}/cdn/html/C0html.jpg"),
        MediaItem(
            "POST", "C0meta", "INSTAGRAM", "IMAGE", "http://169.254.169.254/latest/meta-data/"
        ),
        MediaItem("POST", "C0down", "INSTAGRAM", "IMAGE", f"{sb.url}/cdn/status/503"),
        MediaItem("POST", "C0gone", "INSTAGRAM", "IMAGE", f"{sb.url}/cdn/status/404"),
        MediaItem("POST", "../../etc", "INSTAGRAM", "IMAGE", sb.cdn.url_for("media", "x.jpg")),
        MediaItem("STORY", "C0story", "INSTAGRAM", "IMAGE", sb.cdn.url_for("media", "x.jpg")),
    ]
    outcomes = await process_media(items, store=store, engine=engine, policy=policy)
    got = [(o.status, o.reason) for o in outcomes]
    assert got[:5] == [
        ("skipped", "URL signature expired"),
        ("skipped", "not media: text/html"),
        ("refused", "169.254.169.254 is link-local (the cloud metadata address)"),
        ("failed", "HTTP 503"),
        ("skipped", "HTTP 404: sandbox CDN status 404"),
    ]
    assert outcomes[5].status == "refused" and "entity_id" in (outcomes[5].reason or "")
    assert outcomes[6].status == "refused" and "entity_type" in (outcomes[6].reason or "")
    assert [o.retryable for o in outcomes] == [False, False, False, True, False, False, False]
    assert outcomes[0].request_status == "FAILED"
    assert outcomes[0].message == "skipped: URL signature expired"
    assert object_keys(s3, bucket) == [] and rows(engine) == {}
    assert sb.cdn.answers["expired"] == 1


async def test_an_entity_listed_twice_is_stored_once_with_its_last_url(
    sb: RunningSandbox, policy: FetchPolicy, store: S3Store, s3: Any, bucket: str, engine: Engine
) -> None:
    items = [item(sb, "C0twin", "first.jpg"), item(sb, "C0twin", "second.jpg")]
    outcomes = await process_media(items, store=store, engine=engine, policy=policy)
    assert [o.status for o in outcomes] == ["uploaded", "uploaded"]
    assert outcomes[0].item == items[0] and "listed again" in (outcomes[0].reason or "")
    assert store.get("assets/posts/instagram/C0twin.jpg") == expected("media", "second", "jpg")
    assert rows(engine)["C0twin"]["original_url"] == items[1].original_url


async def test_an_unreachable_store_fails_retryably(
    sb: RunningSandbox, policy: FetchPolicy, engine: Engine
) -> None:
    dead = S3Store(s3_client("http://127.0.0.1:9"), "nowhere")
    [outcome] = await process_media(
        [item(sb, "C0x", "x.jpg")], store=dead, engine=engine, policy=policy
    )
    assert outcome.status == "failed" and (outcome.reason or "").startswith("upload failed")
    assert rows(engine) == {}


async def test_items_from_profiles_and_posts(sb: RunningSandbox) -> None:
    profile = InstagramProfile(
        profile_id="42", handle="h", profile_pic_url="https://cdn.example/p.jpg"
    )
    bare = InstagramProfile(profile_id="43", handle="g")
    image = InstagramPost(shortcode="C0img", post_id="1", profile_id="42", handle="h",
                          post_type="image", display_url="https://cdn.example/i.jpg?oe=1")  # fmt: skip
    reel = InstagramPost(shortcode="C0reel", post_id="2", profile_id="42", handle="h",
                         post_type="reels", display_url="https://cdn.example/v.mp4?oe=1")  # fmt: skip
    items = media_items_from([profile, bare], [image, reel, image])
    assert items == [
        MediaItem("PROFILE", "42", "INSTAGRAM", "IMAGE", "https://cdn.example/p.jpg"),
        MediaItem("POST", "C0img", "INSTAGRAM", "IMAGE", "https://cdn.example/i.jpg?oe=1"),
        MediaItem("POST", "C0reel", "INSTAGRAM", "VIDEO", "https://cdn.example/v.mp4?oe=1"),
    ]
    params = {"entity_type": "post", "entity_id": "C0x", "asset_type": "video",
              "original_url": "https://cdn.example/v.mp4", "platform": "instagram", "hash": 1}  # fmt: skip
    assert MediaItem.from_params(params) == MediaItem(
        "POST", "C0x", "INSTAGRAM", "VIDEO", "https://cdn.example/v.mp4"
    )


async def test_a_local_folder_store_gets_the_same_layout(
    sb: RunningSandbox, policy: FetchPolicy, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'beat.db'}")
    upgrade(engine)
    store = LocalFolderStore(tmp_path / "objects")
    items = [item(sb, "C0small", "small.jpg"), item(sb, "C0large", "large.mp4", size=3 * MiB)]
    outcomes = await process_media(items, store=store, engine=engine, policy=policy)
    assert [o.status for o in outcomes] == ["uploaded", "uploaded"]
    assert (tmp_path / "objects/assets/posts/instagram/C0large.mp4").read_bytes() == expected(
        "media", "large", "mp4", 3 * MiB
    )
    assert sorted(store.list("assets/")) == [
        "assets/posts/instagram/C0large.mp4", "assets/posts/instagram/C0small.jpg",
    ]  # fmt: skip
    engine.dispose()


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


async def test_a_large_object_streams_with_bounded_memory(
    sb: RunningSandbox, policy: FetchPolicy, moto_process_endpoint: str, tmp_path: Path
) -> None:
    """30 MB from the CDN to S3 (moto in another process): Python allocations stay a small
    fraction of the object, and so does the growth of the resident set."""
    size = 30 * MiB
    client = s3_client(moto_process_endpoint)
    client.create_bucket(Bucket="beat-media-large")
    store = S3Store(client, "beat-media-large")
    engine = make_engine(f"sqlite:///{tmp_path / 'beat.db'}")
    upgrade(engine)
    large = item(sb, "C0huge", "huge.mp4", asset_type="VIDEO", size=size)
    warm = item(sb, "C0warm", "warm.mp4", asset_type="VIDEO", size=2 * MiB)
    await process_media([warm], store=store, engine=engine, policy=policy)  # imports, pools

    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident set (VmHWM)
        can_reset_peak = True
    except OSError:
        can_reset_peak = False
    rss_before = _status_kib("VmRSS")
    tracemalloc.start()
    try:
        [outcome] = await process_media([large], store=store, engine=engine, policy=policy)
        _, traced_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth = (_status_kib("VmHWM") - rss_before) * 1024
    assert outcome.status == "uploaded", outcome.reason
    assert outcome.bytes == size
    print(f"traced peak {traced_peak / MiB:.1f} MiB, peak RSS growth {rss_growth / MiB:.1f} MiB")
    assert traced_peak < 8 * MiB, traced_peak  # the object is 30 MiB
    if can_reset_peak:
        assert rss_growth < 20 * MiB, rss_growth

    head = client.head_object(Bucket="beat-media-large", Key="assets/posts/instagram/C0huge.mp4")
    assert head["ContentLength"] == size and head["ContentType"] == "video/mp4"
    digest = hashlib.sha256()
    body = client.get_object(Bucket="beat-media-large", Key="assets/posts/instagram/C0huge.mp4")[
        "Body"
    ]
    for chunk in body.iter_chunks(1024 * 1024):
        digest.update(chunk)
    _, chunks = media_body("media", "huge", "mp4", size)
    reference = hashlib.sha256()
    for chunk in chunks:
        reference.update(chunk)
    assert digest.hexdigest() == reference.hexdigest() == outcome.content_hash
    engine.dispose()
