"""A 100,000-row export streams: the exporting process's peak RSS grows by a bounded amount,
and by no more than a 10,000-row export's does (memory does not follow the row count).
Measured on the process (VmHWM of a child process), not timed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.support import start_sandbox
from sandbox.youtube import CATALOGUE, channel_facts, video_facts

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
ROWS = 100_000
SMALL = 10_000
#: Allocator noise between two runs of the same code.
SLACK_MB = 40
#: What the export may add to the process's peak: a chunk of rows, pyarrow's writer buffers
#: (one Parquet row group) and the input CSV's ids; not the export.
GROWTH_BOUND_MB = 160


#: The child starts from a clean environment: settings other tests leave in os.environ must not
#: change what it does, and one malloc arena per thread would add allocator noise to the peak.
CHILD_ENV = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"),
             "MALLOC_ARENA_MAX": "2"}  # fmt: skip


def video_ids(count: int) -> list[str]:
    known = [f for f in (channel_facts(h, 0) for h in CATALOGUE) if f is not None]
    unique = [video_facts(f, i).video_id for f in known for i in range(f.video_count)]
    unique = unique[: len(unique) // 50 * 50]  # every chunk of 50 ids holds no duplicate
    return [unique[i % len(unique)] for i in range(count)]


def export_in_child(tmp_path: Path, url: str, rows: int) -> dict:
    root = tmp_path / str(rows)
    (root / "inputs").mkdir(parents=True)
    pd.DataFrame({"video_id": video_ids(rows)}).to_csv(root / "inputs" / "videos.csv", index=False)
    child = subprocess.run(
        [sys.executable, "-m", "tests.providers.youtube.export_memory_child", url, str(root)],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=True, env=CHILD_ENV,
    )  # fmt: skip
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["rows"] == rows
    parquet_path = Path(report["video_details_parquet"].removeprefix("file://"))
    assert len(pd.read_parquet(parquet_path, columns=["video_id"])) == rows
    return report


def growth_mb(report: dict) -> float:
    return (report["after_kb"] - report["before_kb"]) / 1024


def test_100k_row_export_has_bounded_peak_memory(tmp_path: Path) -> None:
    sandbox, url = start_sandbox("--no-quotas")
    try:
        small = export_in_child(tmp_path, url, SMALL)
        large = export_in_child(tmp_path, url, ROWS)
    finally:
        sandbox.terminate()
    csv_mb = Path(large["video_details_csv"].removeprefix("file://")).stat().st_size / 2**20
    print(f"{ROWS} rows: csv {csv_mb:.1f} MB, peak RSS growth {growth_mb(large):.1f} MB; "
          f"{SMALL} rows: {growth_mb(small):.1f} MB")  # fmt: skip
    assert growth_mb(large) < GROWTH_BOUND_MB
    # Ten times the rows, about the same peak: the export never holds its rows.
    assert growth_mb(large) < growth_mb(small) + SLACK_MB
