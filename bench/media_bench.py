"""Media upload throughput: process_media (sandbox CDN -> moto S3) vs a raw-PUT floor.

FLOOR: boto3 ``put_object`` of exactly the bytes the CDN serves, already in memory, to the same
moto S3 server, from ``--concurrency`` threads: no download, no typing, no hashing, no
database. The best any media path could do against that S3 server.
OURS: ``process_media`` on the same items: a guarded download from the sandbox CDN (signed
URLs, over loopback HTTP), sniffing, SHA-256, the asset_log lookups and upserts, the upload.

Both run in the same process, in the same run, against one moto server and one sandbox, each
in its own process; the two are measured in alternating order over several rounds, moto reset
to empty before each measurement, and the medians are reported.
Then one more ``process_media`` pass runs under tracemalloc for its peak Python memory, and the
resident set's peak growth (VmHWM, reset first) is measured on an untraced pass.

Each round also prints the CPU milliseconds per upload that moto, the sandbox and this process
spent. On a small machine the three share the cores: moto alone needs several ms per PUT, so
the ratio mostly measures how much CPU the download side (sandbox + fetch) takes from moto.
Other processes on the machine move the numbers a lot; run it on a quiet machine.

    python bench/media_bench.py [--items 1000] [--concurrency 32] [--size BYTES] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3
from botocore.config import Config
from sqlalchemy import Engine

from beat.media import FetchPolicy, MediaItem, process_media, summarize
from beat.objects import S3Store
from beat.store.db import make_engine, upgrade
from bench.support import free_port
from sandbox.cdn import CdnConfig, media_body

MiB = 1024 * 1024


def wait_for(port: int, what: str) -> None:
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


@contextmanager
def server(args: list[str], port: int, what: str) -> Iterator[tuple[str, int]]:
    """Start ``python ARGS`` listening on ``port``; yields (base URL, pid)."""
    proc = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(port, what)
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def cpu_seconds(pid: int | None = None) -> float:
    """User+system CPU time of a process (this one by default)."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent by moto, the sandbox and this process between start() and stop()."""

    def __init__(self, moto_pid: int, sandbox_pid: int) -> None:
        self.pids: dict[str, int | None] = {"moto": moto_pid, "sandbox": sandbox_pid, "us": None}
        self.started: dict[str, float] = {}

    def start(self) -> None:
        self.started = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self, items: int) -> str:
        spent = {n: cpu_seconds(p) - self.started[n] for n, p in self.pids.items()}
        return " ".join(f"{n} {1000 * s / items:.2f}" for n, s in spent.items())


def s3_client(endpoint: str, concurrency: int) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(max_pool_connections=concurrency + 8, retries={"max_attempts": 2}),
    )


def reset_moto(endpoint: str) -> None:
    """Drop everything moto holds, so each measurement starts from the same empty server."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def new_bucket(client: Any) -> str:
    name = f"beat-bench-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name)
    return name


def files(run: str, n: int) -> list[str]:
    return [f"{run}{i:06d}.jpg" for i in range(n)]


def body_of(file: str, size: int | None) -> bytes:
    stem, ext = file.rsplit(".", 1)
    _, chunks = media_body("media", stem, ext, size)
    return b"".join(chunks)


def raw_put_floor(client: Any, names: list[str], size: int | None, concurrency: int) -> float:
    """Uploads per second of put_object with the bytes in hand."""
    bucket = new_bucket(client)
    bodies = [(f"assets/posts/instagram/{n}", body_of(n, size)) for n in names]

    def put(entry: tuple[str, bytes]) -> None:
        client.put_object(Bucket=bucket, Key=entry[0], Body=entry[1], ContentType="image/jpeg")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(put, bodies))
    return len(bodies) / (time.perf_counter() - started)


def media_items(cdn: CdnConfig, names: list[str], size: int | None) -> list[MediaItem]:
    return [
        MediaItem(
            "POST",
            name.rsplit(".", 1)[0],
            "INSTAGRAM",
            "IMAGE",
            cdn.url_for("media", name, size=size),
        )
        for name in names
    ]


async def ours(
    client: Any, engine: Engine, cdn: CdnConfig, names: list[str], size: int | None, conc: int
) -> tuple[float, dict[str, Any]]:
    bucket = new_bucket(client)
    items = media_items(cdn, names, size)
    policy = FetchPolicy.allowing(cdn.base_url or "")
    started = time.perf_counter()
    outcomes = await process_media(
        items, store=S3Store(client, bucket), engine=engine, policy=policy, concurrency=conc
    )
    elapsed = time.perf_counter() - started
    summary = summarize(outcomes)
    if summary["statuses"] != {"uploaded": len(items)}:
        raise RuntimeError(f"not every item was uploaded: {summary}")
    return len(items) / elapsed, summary


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@contextmanager
def database(postgres: bool) -> Iterator[Engine]:
    with ExitStack() as stack:
        if postgres:
            from tests.support import scratch_postgres

            url = stack.enter_context(scratch_postgres("beat_media_bench"))
        else:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            url = f"sqlite:///{os.path.join(folder, 'beat.db')}"
        engine = make_engine(url)
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()


async def main_async(args: argparse.Namespace) -> None:
    moto_port, sandbox_port = free_port(), free_port()
    with ExitStack() as stack:
        moto, moto_pid = stack.enter_context(
            server(
                ["-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)], moto_port, "moto"
            )
        )
        sandbox, sandbox_pid = stack.enter_context(
            server(["-m", "sandbox", "--port", str(sandbox_port), "--cdn"], sandbox_port, "sandbox")
        )
        meter = CpuMeter(moto_pid, sandbox_pid)
        engine = stack.enter_context(database(args.postgres))
        cdn = CdnConfig(base_url=sandbox)  # the sandbox's default secret
        client = s3_client(moto, args.concurrency)
        size, n, conc = args.size, args.items, args.concurrency
        sample = [len(body_of(name, size)) for name in files("s", 50)]
        print(
            f"items {n}, concurrency {conc}, object size "
            f"{'default per file' if size is None else size} "
            f"(mean {sum(sample) / len(sample) / 1024:.0f} KiB), "
            f"db {'postgres' if args.postgres else 'sqlite'}, moto {moto}, sandbox {sandbox}"
        )
        # Warm-up: imports, connection pools, moto's first bucket.
        await asyncio.to_thread(raw_put_floor, client, files("wf", 50), size, conc)
        await ours(client, engine, cdn, files("wo", 50), size, conc)

        print("  (cpu: milliseconds of CPU per upload spent by each process)")
        floors: list[float] = []
        rates: list[float] = []
        for round_ in range(args.rounds):
            # Alternate which goes first; moto starts empty for each measurement.
            cpu: dict[str, str] = {}
            for which in ("floor", "ours") if round_ % 2 == 0 else ("ours", "floor"):
                reset_moto(moto)
                meter.start()
                if which == "floor":
                    names = files(f"f{round_}-", n)
                    floors.append(await asyncio.to_thread(raw_put_floor, client, names, size, conc))
                else:
                    rate, _ = await ours(client, engine, cdn, files(f"o{round_}-", n), size, conc)
                    rates.append(rate)
                cpu[which] = meter.stop(n)
            print(
                f"  round {round_ + 1}: floor {floors[-1]:6.1f}/s [cpu {cpu['floor']}]   "
                f"process_media {rates[-1]:6.1f}/s [cpu {cpu['ours']}]   "
                f"ratio {rates[-1] / floors[-1]:.2f}"
            )
        reset_moto(moto)

        can_reset = reset_peak_rss()
        rss_before = status_kib("VmRSS")
        await ours(client, engine, cdn, files("m-", n), size, conc)
        rss_growth = (status_kib("VmHWM") - rss_before) / 1024
        tracemalloc.start()
        await ours(client, engine, cdn, files("t-", min(n, 500)), size, conc)
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    floor, best = statistics.median(floors), statistics.median(rates)
    ratios = sorted(r / f for r, f in zip(rates, floors, strict=True))
    print(f"raw PUT floor      {floor:8.1f} uploads/s  (median of {len(floors)})")
    print(f"process_media      {best:8.1f} uploads/s  (median of {len(rates)})")
    print(
        f"ratio              {best / floor:8.2f}     (target >= 0.8; per round "
        f"{', '.join(f'{r:.2f}' for r in ratios)})"
    )
    growth = f"{rss_growth:.1f} MiB" if can_reset else "n/a"
    print(
        f"peak memory        tracemalloc {traced_peak / MiB:.1f} MiB ({min(n, 500)} items, "
        f"concurrency {conc}); RSS growth {growth} ({n} items); "
        f"RSS now {status_kib('VmRSS') / 1024:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--size", type=int, default=None, help="bytes per object (default: CDN's)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--postgres", action="store_true", help="asset_log on a scratch PostgreSQL")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
