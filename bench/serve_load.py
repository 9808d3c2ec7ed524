"""Latency of the labeling API under concurrent annotators, on a 100,000-item SQLite project.

Run from the repository root:

    .venv/bin/python bench/serve_load.py [--items 100000] [--clients 1 5 20]
        [--seconds 10] [--think 0] [--no-training] [--training-limit 300]

The first run builds the project once and caches it under
``runs/serve_load/project-<items>/`` (a few minutes for 100,000): ``--items``
8x8 grayscale PNGs made from the bundled digits, each with seeded noise and
its index stamped into three pixels so no two are the same (kept in
``runs/serve_load/images-<items>/``), imported unlabeled; five seed labels per
class; one round of the logreg learner that ranks the whole pool. Every run
then works on a fresh copy of that database, so runs do not see each other's
labels.

``labelloop serve`` runs as a subprocess on a free loopback port. For each
client count, that many threads (httpx, each its own annotator account and
API token) loop ``POST /api/queue/next``, a pause of ``--think`` seconds on
average (0: none, the server is driven flat out), then ``POST /api/labels``
with the item's true digit, for ``--seconds``. Columns: p50 and p99 of each
call in milliseconds, labels acknowledged, and labels per second. Unless
``--no-training`` is given, a last row repeats the largest client count while
a training run (started through ``POST /api/training``) retrains on the whole
pool, until it finishes or ``--training-limit`` seconds pass.

The clients run on the same machine as the server; on a small machine they
take CPU from it, so compare rows measured on the same machine only.

The issue's goal: p99 of next-item under 50 ms at 20 clients.

``--browse`` then measures the data browser (``GET /api/items``) as one
reviewer paging through the same project: each query shape below asked
``--browse-repeats`` times for a page of 100 items' metadata, sequentially,
p50 and p95 in milliseconds (goal: p95 under 200 ms for a filtered page);
``--browse-only`` skips the annotator runs.

``--postgres`` runs the same on a PostgreSQL server the bench starts (the
binaries the tests use), the project built anew in it each run (import and
one ranking: a few minutes at 100,000 items); ``--server-workers N`` then
serves it with N processes and a ``labelloop worker`` for the training row.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from labelloop.config import ProjectConfig
from labelloop.data.demo import DIGITS_CLASSES, digits_arrays
from labelloop.loop import Workspace, run_round
from labelloop.server.security import hash_password
from labelloop.store import LabelInput, Store, sqlite_url

CACHE = Path("runs/serve_load")
_SEEDS_PER_CLASS = 5
_ADMIN = "bench-admin"


def _write_images(folder: Path, n_items: int) -> None:
    """``n_items`` distinct 8x8 PNGs in ``folder/<digit>/img_<index>.png``."""
    X, y = digits_arrays()
    base = np.rint(X[:, 0] * 255).astype(np.uint8)
    rng = np.random.default_rng(0)
    for digit in DIGITS_CLASSES:
        (folder / digit).mkdir(parents=True, exist_ok=True)
    for i in range(n_items):
        row = i % len(base)
        noisy = base[row].astype(np.int16) + rng.integers(-20, 21, size=(8, 8))
        pixels = noisy.clip(0, 255).astype(np.uint8)
        # The index in the bottom-right pixels makes every image's bytes unique.
        pixels[7, 5:8] = ((i >> 16) & 255, (i >> 8) & 255, i & 255)
        Image.fromarray(pixels).save(folder / DIGITS_CLASSES[y[row]] / f"img_{i:06d}.png")
        if (i + 1) % 20_000 == 0:
            print(f"  wrote {i + 1:,} images", flush=True)


def _counter(every: int, what: str) -> Callable[[], None]:
    seen = [0]

    def tick() -> None:
        seen[0] += 1
        if seen[0] % every == 0:
            print(f"  {what} {seen[0]:,}", flush=True)

    return tick


def _images(n_items: int) -> Path:
    """The cached folder of ``n_items`` generated images (written on first use)."""
    images = CACHE / f"images-{n_items}"
    images_ready = CACHE / f"images-{n_items}.ready"
    if not images_ready.exists():
        print(f"writing {n_items:,} images to {images}", flush=True)
        _write_images(images, n_items)
        images_ready.write_text("")
    return images


def _build(root: Path, n_items: int, database_url: str | None = None) -> None:
    """Import the images unlabeled, label five seeds per class, rank the pool once."""
    shutil.rmtree(root, ignore_errors=True)
    images = _images(n_items)
    started = time.perf_counter()
    config = ProjectConfig(
        name="serve-load",
        classes=DIGITS_CLASSES,
        learner="logreg",
        batch_size=10,
        ranking_size=n_items,
        retrain_every=1_000_000_000,
        auto_label_threshold=None,
    )
    ws = Workspace.init(root, config, database_url=database_url)
    try:
        print("importing", flush=True)
        ws.import_folder(images, with_labels=False, on_file=_counter(20_000, "imported"))
        pid = ws.project.id
        seeds: dict[str, list[int]] = {digit: [] for digit in DIGITS_CLASSES}
        for item in ws.store.items(pid):
            digit = item.name.split("/")[0]
            if len(seeds[digit]) < _SEEDS_PER_CLASS:
                seeds[digit].append(item.id)
        ws.store.record_labels(
            pid,
            [LabelInput(i, d, annotator="seed") for d, ids in seeds.items() for i in ids],
        )
        print("ranking the pool (one logreg round)", flush=True)
        run_round(ws)
    finally:
        ws.close()
    print(f"built {root} in {time.perf_counter() - started:.0f} s", flush=True)


def build_project(n_items: int) -> Path:
    """The cached SQLite project of ``n_items`` items with a full ranking; built on first use."""
    root = CACHE / f"project-{n_items}"
    ready = CACHE / f"project-{n_items}.ready"
    if not ready.exists():
        _build(root, n_items)
        ready.write_text("")
    return root


def build_postgres_project(n_items: int, database_url: str) -> Path:
    """The same project in a PostgreSQL database (built anew each run: a server of its own)."""
    root = CACHE / "pg-run"
    _build(root, n_items, database_url)
    return root


def add_accounts(root: Path, n_clients: int) -> tuple[list[str], str]:
    """One annotator token per client and an admin token, in the project at ``root``."""
    ws = Workspace.open(root)
    try:
        secret = hash_password("bench-password")
        people = ws.store.people
        tokens = []
        for i in range(n_clients):
            user = people.create_user(f"bench{i:02d}", secret, "annotator")
            tokens.append(people.issue(user.id, "token", name="bench")[0])
        admin = people.create_user(_ADMIN, secret, "admin")
        admin_token = people.issue(admin.id, "token", name="bench")[0]
    finally:
        ws.close()
    return tokens, admin_token


def fresh_copy(project: Path, n_clients: int) -> tuple[Path, list[str], str]:
    """A throwaway copy of the cached project's database, with accounts and API tokens.

    Returns:
        The copy's folder, one annotator token per client, and an admin token.
    """
    root = CACHE / "run"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for entry in project.iterdir():
        if entry.name == "media":
            (root / "media").symlink_to(entry.resolve())
        elif entry.is_dir():
            shutil.copytree(entry, root / entry.name)
        else:
            shutil.copy2(entry, root / entry.name)
    # A project cached by an older labelloop gets this version's schema.
    Store(sqlite_url(root / "labelloop.db"), create=True).close()
    tokens, admin_token = add_accounts(root, n_clients)
    return root, tokens, admin_token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(root: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """``labelloop serve`` on a free loopback port; its output goes to ``root/serve.log``."""
    port = _free_port()
    log = (root / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "labelloop.cli", "serve", str(root), "--port", str(port), *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"labelloop serve exited with {process.returncode}; see serve.log")
        try:
            if httpx.get(f"{url}/login", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("labelloop serve did not answer within 60 s")


@dataclass
class Measured:
    """Latencies (seconds) and counts gathered by the client threads of one run."""

    next_s: list[float] = field(default_factory=list)
    label_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client_loop(
    url: str,
    token: str,
    think: float,
    start: threading.Barrier,
    stop: threading.Event,
    out: Measured,
) -> None:
    """One annotator: next → a pause → label with the true digit, until ``stop``.

    The pause is drawn uniformly from 0.5 to 1.5 times ``think``, so that
    clients do not stay in step and hit the server in bursts. The first pair
    is a warm-up (it opens the connection) and is not counted.
    """
    pauses = random.Random(token)
    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        warm = True
        while warm or not stop.is_set():
            t0 = time.perf_counter()
            response = client.post("/api/queue/next")
            served_at = time.perf_counter()
            served = response.json()["served"] if response.status_code == 200 else None
            if served is None:
                with out.lock:
                    out.errors.append(f"next: {response.status_code} {response.text[:200]}")
                if warm:
                    start.wait()
                return
            value = served["item"]["name"].split("/")[0]
            if think and not warm:
                stop.wait(think * pauses.uniform(0.5, 1.5))
            t1 = time.perf_counter()
            answer = client.post(
                "/api/labels", json={"lease_id": served["lease_id"], "value": value}
            )
            t2 = time.perf_counter()
            if warm:
                warm = False
                start.wait()
                stop.wait(think * pauses.uniform(0.0, 1.0))  # start out of step, too
                continue
            with out.lock:
                if answer.status_code == 201:
                    out.next_s.append(served_at - t0)
                    out.label_s.append(t2 - t1)
                else:
                    out.errors.append(f"label: {answer.status_code} {answer.text[:200]}")


def measure(
    url: str, tokens: list[str], think: float, until: Callable[[float], bool]
) -> tuple[Measured, float]:
    """Run one client thread per token until ``until(elapsed_seconds)`` is true.

    Returns:
        What the clients measured, and the run's length in seconds.
    """
    out = Measured()
    start = threading.Barrier(len(tokens) + 1)
    stop = threading.Event()
    threads = [
        threading.Thread(target=_client_loop, args=(url, token, think, start, stop, out))
        for token in tokens
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    while not until(time.perf_counter() - began):
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    return out, time.perf_counter() - began


def _row(label: str, out: Measured, seconds: float) -> str:
    def ms(values: list[float], q: float) -> float:
        return float(np.percentile(values, q)) * 1e3 if values else float("nan")

    n = len(out.label_s)
    return (
        f"{label:>14} {ms(out.next_s, 50):>9.1f} {ms(out.next_s, 99):>9.1f} "
        f"{ms(out.label_s, 50):>9.1f} {ms(out.label_s, 99):>9.1f} {n:>8} "
        f"{n / seconds:>9.1f} {len(out.errors):>7}"
    )


def _while_training(
    url: str, tokens: list[str], think: float, admin: str, limit: float
) -> tuple[str, float]:
    """Measure with a training run going; returns the row and the run's wall time."""
    headers = {"authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        started = client.post("/api/training")
        started.raise_for_status()
        t0 = time.perf_counter()
        finished: list[float] = []
        polled = [0.0]

        def done(elapsed: float) -> bool:
            if elapsed >= limit or finished:
                return True
            if elapsed - polled[0] < 1.0:  # poll gently: the poll is load too
                return False
            polled[0] = elapsed
            if client.get("/api/training").json()["state"] == "idle":
                finished.append(time.perf_counter() - t0)
            return bool(finished)

        out, seconds = measure(url, tokens, think, done)
    label = f"{len(tokens)} (training)"
    return _row(label, out, seconds), finished[0] if finished else float("nan")


BROWSE_QUERIES: list[tuple[str, dict[str, str | int]]] = [
    ("first page", {}),
    ("unlabeled by uncertainty", {"origin": "unlabeled", "sort": "uncertainty", "order": "desc"}),
    ("label 3, newest first", {"label": "3", "sort": "updated", "order": "desc"}),
    ("confidence 0.2-0.5", {"min_confidence": 0.2, "max_confidence": 0.5, "sort": "confidence"}),
    ("name contains, by name", {"name": "img_01", "sort": "name"}),
    ("unlabeled, page 20", {"origin": "unlabeled", "offset": 1900}),
    ("page 500 of all", {"offset": 49_900}),
    ("annotator + split", {"annotator": "seed", "split": "train"}),
]


def measure_browse(url: str, token: str, repeats: int) -> list[str]:
    """Rows of p50/p95 latency (ms) per browser query shape, and one over all of them."""
    headers = {"authorization": f"Bearer {token}"}
    rows = [f"{'browser query':>28} {'p50 ms':>8} {'p95 ms':>8} {'matches':>8}"]
    every: list[float] = []
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        client.get("/api/items", params={"limit": 1}).raise_for_status()  # warm-up
        for label, params in BROWSE_QUERIES:
            took = []
            total = 0
            for _ in range(repeats):
                t0 = time.perf_counter()
                response = client.get("/api/items", params={**params, "limit": 100})
                took.append(time.perf_counter() - t0)
                response.raise_for_status()
                total = response.json()["total"]
            every += took
            p50, p95 = (float(np.percentile(took, q)) * 1e3 for q in (50, 95))
            rows.append(f"{label:>28} {p50:>8.1f} {p95:>8.1f} {total:>8}")
    p50, p95 = (float(np.percentile(every, q)) * 1e3 for q in (50, 95))
    rows.append(f"{'all of them':>28} {p50:>8.1f} {p95:>8.1f}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="seconds each client looks at an item before labeling it (0: flat out)",
    )
    parser.add_argument("--no-training", action="store_true")
    parser.add_argument("--training-limit", type=float, default=300.0)
    parser.add_argument("--browse", action="store_true", help="also time the data browser")
    parser.add_argument("--browse-only", action="store_true", help="time the data browser only")
    parser.add_argument("--browse-repeats", type=int, default=20)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="a PostgreSQL server started by the bench instead of SQLite (project built anew)",
    )
    parser.add_argument(
        "--server-workers", type=int, default=1, help="with --postgres: serve --workers N"
    )
    args = parser.parse_args()
    if args.browse_only:
        args.browse, args.clients, args.no_training = True, [1], True
    with contextlib.ExitStack() as stack:
        if args.postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests import postgres  # the tests' throwaway server

            template = stack.enter_context(postgres.postgres_server())
            root = build_postgres_project(
                args.items, postgres.create_database(template, "serveload")
            )
            tokens, admin = add_accounts(root, max(args.clients))
            extra = ("--workers", str(args.server_workers)) if args.server_workers > 1 else ()
        else:
            root, tokens, admin = fresh_copy(build_project(args.items), max(args.clients))
            extra = ()
        run(args, root, tokens, admin, extra)


def run(
    args: argparse.Namespace, root: Path, tokens: list[str], admin: str, extra: tuple[str, ...]
) -> None:
    """Start the server on ``root`` and take every measurement asked for."""
    process, url = start_server(root, *extra)
    worker = None
    if extra:  # several server processes queue training for a worker process
        worker = subprocess.Popen(
            [sys.executable, "-m", "labelloop.cli", "worker", str(root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    header = (
        f"{'clients':>14} {'next p50':>9} {'next p99':>9} {'label p50':>9} "
        f"{'label p99':>9} {'labels':>8} {'labels/s':>9} {'errors':>7}"
    )
    rows = [] if args.browse_only else [header]
    try:
        print(
            f"{args.items:,} items, {args.seconds:g} s per run, {args.think:g} s think time, "
            f"server at {url}",
            flush=True,
        )
        for n in [] if args.browse_only else args.clients:
            out, seconds = measure(url, tokens[:n], args.think, lambda t: t >= args.seconds)
            rows.append(_row(str(n), out, seconds))
            print(rows[-1], flush=True)
            for error in out.errors[:3]:
                print("   ", error)
        if not args.no_training:
            row, trained = _while_training(
                url, tokens[: max(args.clients)], args.think, admin, args.training_limit
            )
            rows.append(row)
            print(f"{row}   (training run took {trained:.1f} s)", flush=True)
        if args.browse:
            rows += ["", *measure_browse(url, admin, args.browse_repeats)]
    finally:
        for running in (process, worker):
            if running is not None:
                running.terminate()
                running.wait(timeout=30)
    print("\n".join(["", *rows]))


if __name__ == "__main__":
    main()
