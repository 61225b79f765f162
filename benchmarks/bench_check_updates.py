"""check-updates against the loopback Hub with added per-request latency.

The Hub holds the 2509 stack plus the 2511 release (bf16, fp8mixed, int8) and the 2511
Lightning repo, so the run does real work: shortlists, header reads, a LoRA search.
Reports wall time and requests by route for several latencies, for repos padded with
thousands of extra files (requests must not grow with repo size), and with concurrency
off (max_workers=1) to show what running repos in parallel buys.

Run: uv run python benchmarks/bench_check_updates.py
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hubserver.releases import (
    EDIT_REPO,
    add_2511_lora_repo,
    add_2511_release,
)
from hubserver.server import HubServer
from imagebuilder.hub.client import Hub
from imagebuilder.hub.resolve import build_lock, resolve_entries
from imagebuilder.project.load import load_config
from imagebuilder.updates.check import check_updates

ROOT = Path(__file__).resolve().parents[1]
LATENCIES_S = (0.0, 0.05, 0.1)
PADDING_FILES = 5000


def prepare(server: HubServer, padding: int) -> None:
    add_2511_release(server)
    add_2511_lora_repo(server)
    if padding:
        extra = {f"extra/{n:05d}.txt": {"text": f"file {n}"} for n in range(padding)}
        server.commit(EDIT_REPO, extra, title="Pad the repo")


def run_once(latency_s: float, padding: int, workers: int) -> tuple[float, Counter[str], int]:
    loaded = load_config(ROOT / "models.yaml")
    with HubServer("qwen_2509") as server:
        hub = Hub(endpoint=server.url, token="")
        lock = build_lock(resolve_entries(loaded.config, hub))
        prepare(server, padding)
        server.latency_s = latency_s
        server.stats.reset()
        started = time.perf_counter()
        proposal = check_updates(loaded.config, lock, hub, max_workers=workers)
        wall = time.perf_counter() - started
        assert len(proposal.changes) == 2, proposal.as_dict()
        return wall, Counter(server.stats.by_route), server.stats.bytes_served


def main() -> None:
    print(f"{'latency':>8} {'padding':>8} {'workers':>7} {'wall s':>7} {'requests':>8}  by route")
    for latency in LATENCIES_S:
        for padding, workers in ((0, 8), (PADDING_FILES, 8), (0, 1)):
            wall, routes, served = run_once(latency, padding, workers)
            detail = ", ".join(f"{k} {v}" for k, v in sorted(routes.items()))
            print(
                f"{latency * 1e3:6.0f}ms {padding:>8} {workers:>7} {wall:7.2f} "
                f"{sum(routes.values()):>8}  {detail}; {served / 1e6:.1f} MB of headers"
            )


if __name__ == "__main__":
    main()
