"""Scoring a pool of photo-like images locally and on a local Ray, same model and request.

Prints, for each executor, the seconds of a whole pass (best of ``--repeats``,
runs alternated so a busy machine slows all alike) and the ratio to the local
scorer, with the largest probability difference and whether the margin
ranking is the same. Ray's start-up is timed apart, not counted in a pass.

    .venv/bin/python bench/ray_scoring.py --n 6000 --repeats 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np


def _ranking(probs: Any) -> Any:
    top = np.sort(probs, axis=1)
    return np.argsort(-(1.0 - (top[:, -1] - top[:, -2])), kind="stable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6000, help="images in the pool")
    parser.add_argument("--side", type=int, default=224, help="model input side")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="decoders of each executor")
    parser.add_argument("--root", type=Path, default=Path("/tmp/raybench"))
    args = parser.parse_args()

    import ray

    from labelloop.data.arrays import load_images
    from labelloop.data.photolike import write_photo_like
    from labelloop.learners import make_learner
    from labelloop.scale import LocalScorer, ScoreRequest
    from labelloop.scale.ray import RayScorer

    folder = args.root / "photos"
    paths = sorted(folder.rglob("*.*"))[: args.n]
    if len(paths) < args.n:
        paths = write_photo_like(folder, args.n, seed=3)
    size = (args.side, args.side)
    learner = make_learner("cnn", n_classes=10, input_shape=(3, *size))
    seed_set = paths[:60]
    learner.fit(
        load_images(seed_set, size=size, channels=3),
        np.array([int(p.parent.name) for p in seed_set]),
    )
    request = ScoreRequest(paths, 3, size, "center_crop", frozenset({"probs"}))
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    print(f"{len(paths)} images at {args.side} px; Ray start {time.perf_counter() - start:.1f} s")
    scorers: dict[str, Any] = {
        "local": LocalScorer(workers=args.workers),
        "ray, decode in actor": RayScorer(decoders=args.workers),
        "ray, decode stage": RayScorer(decoders=args.workers, decode_in_actor=False),
    }
    best: dict[str, float] = {}
    probs: dict[str, Any] = {}
    for _ in range(args.repeats):
        for name, scorer in scorers.items():
            start = time.perf_counter()
            scores = scorer.score(learner, request)
            best[name] = min(best.get(name, np.inf), time.perf_counter() - start)
            probs[name] = scores.probs
    ray.shutdown()
    print("| executor | seconds (best) | / local | largest probability difference | same ranking |")
    print("|---|---|---|---|---|")
    for name, seconds in best.items():
        difference = float(np.abs(probs[name] - probs["local"]).max())
        same = bool((_ranking(probs[name]) == _ranking(probs["local"])).all())
        print(
            f"| {name} | {seconds:.1f} | {seconds / best['local']:.2f} | "
            f"{difference:.1e} | {same} |"
        )


if __name__ == "__main__":
    main()
