"""Child process of test_export_memory: one 100,000-row fetch_video_details_csv export against
the sandbox, printing its peak RSS (ru_maxrss) before and after as JSON."""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp

from beat.objects import LocalFolderStore
from beat.pipeline.exports import ExportTools, fetch_video_details_csv
from providers.credentials import Credential, StaticCredentials
from providers.youtube.crawler import YouTubeCrawler
from sandbox import sandbox_credentials


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(f"{field}:"))
    return int(line.split()[1])


def peak_kb() -> int:
    """This process's own peak resident set (VmHWM). Not ru_maxrss: Linux carries that across
    exec from the forking parent, so a child of a big test process reported the parent's peak."""
    return _status_kb("VmHWM")


def current_kb() -> int:
    """The resident set now (the peak so far may come from start-up, and would hide what
    the export adds)."""
    return _status_kb("VmRSS")


async def export(sandbox_url: str, store_root: str) -> dict[str, object]:
    from beat.config import sandbox_base_urls

    key = next(secret for name, secret, _ in sandbox_credentials() if name == "ytapitoken")
    credentials = StaticCredentials({"ytapitoken": [Credential("1", "ytapitoken", key)]})
    chains = {"videos": ["ytapitoken"]}
    async with aiohttp.ClientSession() as session:
        crawler = YouTubeCrawler(session, credentials, sandbox_base_urls(sandbox_url), chains)
        tools = ExportTools(crawler, LocalFolderStore(store_root))
        before = current_kb()
        outcome = await fetch_video_details_csv(tools, {"videos_path": "inputs/videos.csv"})
    return {"before_kb": before, "after_kb": peak_kb(), **outcome.location}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(export(sys.argv[1], sys.argv[2]))))
