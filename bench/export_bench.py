"""A 100,000-row YouTube export: beat's streaming writer vs writing the same frame with pyarrow
directly. Each side runs in a child process of its own, so its peak RSS (VmHWM over the
resident set at start) is its own.

OURS: rows produced 50 at a time (as provider chunks arrive), streamed by
beat.pipeline.exports.ExportFiles into a CSV and a Parquet file, uploaded to a local store.
FLOOR: the same 100,000 rows held as one list, one pyarrow Table, pyarrow.csv.write_csv and
pyarrow.parquet.write_table (what a non-streaming export does).

    python bench/export_bench.py [--rows 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import peak_rss_kib


def current_kb() -> int:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])


def videos(count: int) -> Any:
    """`count` parsed videos, 50 at a time (real Data API items through the real parser)."""
    from providers.youtube.dataapi import video_from_item
    from sandbox.youtube import CATALOGUE, _data_video, channel_facts, video_facts

    known = [f for f in (channel_facts(h, 0) for h in CATALOGUE) if f is not None]
    items = [_data_video(video_facts(f, i)) for f in known for i in range(f.video_count)]
    for start in range(0, count, 50):
        yield [video_from_item(items[(start + j) % len(items)], "item") for j in range(50)]


def ours(rows: int, folder: Path) -> None:
    from beat.objects import LocalFolderStore
    from beat.pipeline.exports import VIDEO_SCHEMA, ExportFiles, upload_file, video_record

    store = LocalFolderStore(folder)
    files = ExportFiles(VIDEO_SCHEMA)
    for chunk in videos(rows):
        files.write([video_record(v) for v in chunk])
    files.close()
    upload_file(store, "export.csv", files.csv_path, "text/csv")
    upload_file(store, "export.parquet", files.parquet_path, "application/vnd.apache.parquet")
    files.discard()


def floor(rows: int, folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    from beat.pipeline.exports import VIDEO_SCHEMA, video_record

    records = [video_record(v) for chunk in videos(rows) for v in chunk]
    table = pa.Table.from_pylist(records, schema=VIDEO_SCHEMA)
    pa_csv.write_csv(table, folder / "export.csv")
    pq.write_table(table, folder / "export.parquet", compression="zstd")


def child(side: str, rows: int) -> None:
    import pyarrow  # noqa: F401 - imported before the baseline, as both sides use it

    import beat.pipeline.exports  # noqa: F401

    before = current_kb()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        (ours if side == "ours" else floor)(rows, Path(folder))
    seconds = time.perf_counter() - started
    peak = peak_rss_kib()
    print(json.dumps({"seconds": seconds, "growth_mb": (peak - before) / 1024}))


def measure(side: str, rows: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", side, "--rows", str(rows)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=("ours", "floor"))
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    results: dict[str, list[dict[str, float]]] = {"floor": [], "ours": []}
    for round_no in range(1, args.rounds + 1):
        for side in ("floor", "ours"):
            results[side].append(measure(side, args.rows))
        f, o = results["floor"][-1], results["ours"][-1]
        print(f"round {round_no}: floor {f['seconds']:.2f} s {f['growth_mb']:.0f} MB  "
              f"beat {o['seconds']:.2f} s {o['growth_mb']:.0f} MB", flush=True)  # fmt: skip
    t = {side: median(r["seconds"] for r in rs) for side, rs in results.items()}
    m = {side: median(r["growth_mb"] for r in rs) for side, rs in results.items()}
    print(f"export of {args.rows} video rows to CSV + Parquet (rows built from parsed videos)")
    for side, label in (
        ("floor", "floor (pyarrow Table, write_csv + write_table)"),
        ("ours", "beat (streamed, 5,000-row batches, uploaded)"),
    ):
        print(f"  {label:48}{t[side]:7.2f} s {m[side]:7.0f} MB peak RSS growth")
    print(f"  {'time ratio beat/floor':48}{t['ours'] / t['floor']:7.2f}")
    print(f"  {'peak memory ratio beat/floor':48}{m['ours'] / max(m['floor'], 1e-9):7.2f}")


if __name__ == "__main__":
    main()
