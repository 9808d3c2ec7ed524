"""How long a ranking swap blocks writers: one transaction against chunks.

Run from the repository root:

    .venv/bin/python bench/ranking_swap.py [--items 100000] [--chunks 100000 1000]

Works on a copy of the 100,000-item SQLite project that ``bench/serve_load.py``
builds and caches (built here too if missing). For each chunk size, one thread
records a new ranking of every item (``Store.add_round``) while another keeps
writing one label at a time, as annotators do, and times each write. A chunk
size of at least the pool size is today's single transaction. Columns: the
swap's wall time, and the writer's p50, p99 and worst latency in milliseconds
while the swap ran (goal: no write waits more than 50 ms).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve_load import CACHE, build_project

from labelloop.store import LabelInput, RankedItem, Store, sqlite_url


def measure(project: Path, chunk: int) -> str:
    root = CACHE / "swap"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    shutil.copy2(project / "labelloop.db", root / "labelloop.db")
    store = Store(sqlite_url(root / "labelloop.db"), create=True)
    try:
        pid = store.project("serve-load").id
        items = store.items(pid)
        ranking = [RankedItem(i.id, 1.0 - n / len(items), "0", 0.5) for n, i in enumerate(items)]
        snapshot = store.create_snapshot(pid)
        waits: list[float] = []
        done = threading.Event()

        def writer() -> None:
            n = 0
            while not done.is_set():
                item = items[n % len(items)]
                t0 = time.perf_counter()
                store.record_labels(pid, [LabelInput(item.id, str(n % 10), annotator="w")])
                waits.append(time.perf_counter() - t0)
                n += 1
                time.sleep(0.005)

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(0.2)
        waits.clear()
        t0 = time.perf_counter()
        store.add_round(
            pid,
            snapshot_id=snapshot.id,
            model_id=None,
            strategy="bench",
            ranking=ranking,
            batch_size=10,
            metrics={},
            chunk_size=chunk,
        )
        swap = time.perf_counter() - t0
        done.set()
        thread.join()
    finally:
        store.close()
    ms = np.array(waits) * 1e3
    return (
        f"{chunk:>10,} {swap:>9.2f} {len(ms):>8} {np.percentile(ms, 50):>8.1f} "
        f"{np.percentile(ms, 99):>8.1f} {ms.max():>8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--chunks", type=int, nargs="+", default=[100_000, 1000])
    args = parser.parse_args()
    project = build_project(args.items)
    print(f"{'chunk':>10} {'swap s':>9} {'writes':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for chunk in args.chunks:
        print(measure(project, chunk), flush=True)


if __name__ == "__main__":
    main()
