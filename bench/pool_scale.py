"""Pools of real-photo size: import speed, round time by stage, peak memory, scoring throughput.

For each N, generates N photo-like JPEGs and PNGs (200-400 px, mixed sizes,
RGB and grayscale, some EXIF-rotated: :mod:`labelloop.data.photolike`) in
class folders, imports them unlabeled into a project with the default
configuration, labels 60 of them (the truth is in the folder name), and
runs one round with the default learner. Each stage runs in a process of its
own so its peak RSS is its own. Printed per N: import images/s and peak RSS,
the round's wall time by stage, its peak RSS, its scoring images/s, and the
raw limit measured in the same process right after the round: a bare loop
that only decodes the images (same DataLoader, same workers) and runs the
model forward. Figures, not asserts.

    .venv/bin/python bench/pool_scale.py --sizes 10000            # about 5 min here
    .venv/bin/python bench/pool_scale.py --sizes 10000,50000,100000 --workers 2
    .venv/bin/python bench/pool_scale.py --sizes 10000 --ray      # plus local vs Ray scoring
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

LABELS = 60


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _stage_import(root: Path, n: int) -> dict[str, Any]:
    from labelloop.config import ProjectConfig
    from labelloop.data.demo import DIGITS_CLASSES
    from labelloop.data.photolike import write_photo_like
    from labelloop.loop.workspace import Workspace
    from labelloop.store import LabelInput

    photos = root / "photos"
    start = time.perf_counter()
    if not photos.exists():
        write_photo_like(photos, n, seed=0)
    generated = time.perf_counter() - start
    project = root / "project"
    if project.exists():
        shutil.rmtree(project)
    ws = Workspace.init(project, ProjectConfig(name="scale", classes=DIGITS_CLASSES))
    start = time.perf_counter()
    report = ws.import_folder(photos, with_labels=False)
    imported = time.perf_counter() - start
    items = ws.store.items(ws.project.id)
    seed = items[:: max(1, len(items) // LABELS)][:LABELS]
    ws.store.record_labels(
        ws.project.id,
        [LabelInput(item.id, item.name.split("/")[0], annotator="bench") for item in seed],
    )
    ws.close()
    return {
        "generate_s": generated,
        "imported": report.imported,
        "import_s": imported,
        "import_per_s": report.imported / imported,
        "import_peak_rss_mb": _peak_rss_mb(),
    }


def _stage_round(root: Path, workers: int) -> dict[str, Any]:
    import torch
    from torch.utils.data import DataLoader

    from labelloop.loop.models import latest_learner
    from labelloop.loop.round import run_round
    from labelloop.loop.workspace import Workspace
    from labelloop.scale import DEFAULT_CHUNK, ImageFiles, LocalScorer
    from labelloop.scale.local import collate_images

    ws = Workspace.open(root / "project")
    marks: list[tuple[str, float]] = []

    def on_step(name: str, _done: float) -> None:
        if not marks or marks[-1][0] != name:
            marks.append((name, time.perf_counter()))

    start = time.perf_counter()
    result = run_round(ws, on_step=on_step, scorer=LocalScorer(workers=workers))
    wall = time.perf_counter() - start
    stages = {name: round(end - begin, 2) for (name, begin), (_, end) in itertools.pairwise(marks)}
    round_peak = _peak_rss_mb()
    n = result.metrics.n_pool

    # The raw limit: decode with the same loader and run the model forward, nothing else.
    channels, size = ws.input_geometry()
    assert size is not None
    learner = latest_learner(ws, (channels, *size))
    assert learner is not None
    files = ImageFiles(
        [ws.image_path(i) for i in ws.store.items(ws.project.id)], channels, size, ws.config.resize
    )
    loader = DataLoader(
        files, batch_size=DEFAULT_CHUNK, num_workers=workers, collate_fn=collate_images
    )
    start = time.perf_counter()
    with torch.inference_mode():
        for images, _ok in loader:
            learner.predict_proba(images)
    raw = time.perf_counter() - start
    ws.close()
    scoring = stages.get("score pool")
    return {
        "n_pool": n,
        "round_s": wall,
        "stages_s": stages,
        "round_peak_rss_mb": round_peak,
        "score_per_s": None if not scoring else n / scoring,
        "raw_decode_forward_per_s": n / raw,
    }


def _stage_ray(root: Path, workers: int) -> dict[str, Any]:
    """The round's model scoring the pool locally and on a local Ray, same request."""
    import numpy as np
    import ray

    from labelloop.loop.models import latest_learner
    from labelloop.loop.workspace import Workspace
    from labelloop.scale import LocalScorer, ScoreRequest
    from labelloop.scale.ray import RayScorer

    ws = Workspace.open(root / "project")
    channels, size = ws.input_geometry()
    assert size is not None
    learner = latest_learner(ws, (channels, *size))
    assert learner is not None
    paths = [ws.image_path(i) for i in ws.store.items(ws.project.id)]
    request = ScoreRequest(paths, channels, size, ws.config.resize, frozenset({"probs"}))
    start = time.perf_counter()
    local = LocalScorer(workers=workers).score(learner, request)
    local_s = time.perf_counter() - start
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray_start_s = time.perf_counter() - start
    start = time.perf_counter()
    remote = RayScorer(decoders=max(1, workers)).score(learner, request)
    ray_s = time.perf_counter() - start
    ray.shutdown()
    ws.close()
    assert local.probs is not None and remote.probs is not None

    def ranking(probs: Any) -> Any:
        top = np.sort(probs, axis=1)
        return np.argsort(-(1.0 - (top[:, -1] - top[:, -2])), kind="stable")

    return {
        "local_score_s": local_s,
        "ray_start_s": ray_start_s,
        "ray_score_s": ray_s,
        "max_prob_difference": float(np.abs(local.probs - remote.probs).max()),
        "same_ranking": bool((ranking(local.probs) == ranking(remote.probs)).all()),
    }


def _child(stage: str, root: Path, n: int, workers: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--stage", stage, "--root", str(root), "--n", str(n),
         "--workers", str(workers)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"{stage} failed for N={n}:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--workers", type=int, default=2, help="decoding processes")
    parser.add_argument("--root", type=Path, default=Path("runs/pool_scale"))
    parser.add_argument("--ray", action="store_true", help="also score on a local Ray")
    parser.add_argument("--stage", choices=["import", "round", "ray"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "import":
        print(json.dumps(_stage_import(args.root, args.n)))
        return
    if args.stage == "round":
        print(json.dumps(_stage_round(args.root, args.workers)))
        return
    if args.stage == "ray":
        print(json.dumps(_stage_ray(args.root, args.workers)))
        return
    for n in (int(v) for v in args.sizes.split(",")):
        root = args.root / str(n)
        root.mkdir(parents=True, exist_ok=True)
        imported = _child("import", root, n, args.workers)
        scored = _child("round", root, n, args.workers)
        print(f"\n## N = {n:,} (decoding workers: {args.workers})")
        print(
            f"generate {imported['generate_s']:.0f} s; import {imported['import_per_s']:.0f} "
            f"images/s ({imported['import_s']:.0f} s), peak RSS "
            f"{imported['import_peak_rss_mb']:.0f} MB"
        )
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in scored["stages_s"].items())
        print(f"round {scored['round_s']:.1f} s: {stages}")
        print(f"round peak RSS {scored['round_peak_rss_mb']:.0f} MB")
        per_s, raw = scored["score_per_s"], scored["raw_decode_forward_per_s"]
        print(
            f"scoring {per_s:.0f} images/s; raw decode+forward {raw:.0f} images/s "
            f"(ratio {per_s / raw:.2f})"
        )
        result: dict[str, Any] = {"import": imported, "round": scored}
        if args.ray:
            on_ray = _child("ray", root, n, args.workers)
            print(
                f"scoring alone: local {on_ray['local_score_s']:.1f} s, Ray "
                f"{on_ray['ray_score_s']:.1f} s (ratio "
                f"{on_ray['ray_score_s'] / on_ray['local_score_s']:.2f}; Ray start "
                f"{on_ray['ray_start_s']:.1f} s more); same ranking: {on_ray['same_ranking']} "
                f"(largest probability difference {on_ray['max_prob_difference']:.1e})"
            )
            result["ray"] = on_ray
        (root / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
