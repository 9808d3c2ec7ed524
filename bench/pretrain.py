"""Self-supervised pretraining on this CPU: wall time and images/s, then what it buys at 50 labels.

Speed: one SimCLR epoch of ResNet-18 over pools of ``--sizes`` photo-like
images at ``--input-size`` (two augmented views per image, forward and
backward), images per second.

Quality (``--evaluate``): pretrain ``--epochs`` epochs on the digits or the
photo-like pool, then compare at 50 labels (5 seeds of a stratified draw):
logistic regression on the frozen pretrained embeddings (``embed`` mode's
head), the same on a randomly initialised backbone's embeddings, and the
small CNN trained from scratch. Test accuracy on the held-out fifth.

    OMP_NUM_THREADS=2 .venv/bin/python bench/pretrain.py [--sizes 300 1000]
        [--evaluate digits --epochs 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labelloop.data.demo import digits_arrays
from labelloop.data.photolike import photo_like_arrays
from labelloop.learners import make_learner
from labelloop.learners.embedding import EmbeddingClassifier
from labelloop.learners.pretrain import PretrainSettings, pretrain


def _batches(X: np.ndarray, size: int, epoch: int) -> Iterator[np.ndarray]:
    order = np.random.default_rng(epoch).permutation(len(X))
    for start in range(0, len(X) - 1, size):
        yield X[order[start : start + size]]


def _speed(sizes: list[int], input_size: int) -> None:
    print(f"SimCLR, ResNet-18 at {input_size} px, batch 64, one epoch:")
    for n in sizes:
        X, _ = photo_like_arrays(min(n, 1797), size=64, seed=0)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            pretrain(
                lambda epoch, X=X: _batches(X, 64, epoch),
                PretrainSettings(input_size=input_size, epochs=1),
                checkpoint=Path(tmp) / "c.ckpt",
                weights_out=Path(tmp) / "w.pt",
                steps_per_epoch=-(-len(X) // 64),
            )
            took = time.perf_counter() - started
        print(f"  {len(X):6d} images: {took:7.1f} s  {len(X) / took:6.1f} images/s")


def _evaluate(dataset: str, epochs: int, input_size: int, save: Path | None) -> None:
    if dataset == "digits":
        X, y = digits_arrays()
    else:
        X, y = photo_like_arrays(1797, size=64, seed=0)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    test, pool = order[: len(y) // 5], order[len(y) // 5 :]
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "ssl.pt"
        started = time.perf_counter()
        result = pretrain(
            lambda epoch: _batches(X[pool], 64, epoch),
            PretrainSettings(input_size=input_size, epochs=epochs),
            checkpoint=Path(tmp) / "c.ckpt",
            weights_out=weights,
            steps_per_epoch=-(-len(pool) // 64),
        )
        print(
            f"{dataset}: pretrained {epochs} epochs on {len(pool)} images in "
            f"{time.perf_counter() - started:.0f} s; losses {result.losses[0]:.3f} -> "
            f"{result.losses[-1]:.3f}"
        )
        scores: dict[str, list[float]] = {"ssl embed": [], "random embed": [], "cnn scratch": []}
        shape = tuple(X.shape[1:])
        for seed in range(5):
            picked = np.random.default_rng(seed).choice(pool, 50, replace=False)
            for name in scores:
                if name == "cnn scratch":
                    learner = make_learner(
                        "cnn", n_classes=10, input_shape=shape, random_state=seed
                    )
                else:
                    learner = EmbeddingClassifier(
                        "resnet18",
                        10,
                        shape,  # type: ignore[arg-type]
                        weights=str(weights) if name == "ssl embed" else "none",
                        input_size=input_size,
                        cache_root=Path(tmp) / "cache",
                        random_state=seed,
                        bagging=0,
                    )
                learner.fit(X[picked], y[picked])
                accuracy = float((learner.predict_proba(X[test]).argmax(1) == y[test]).mean())
                scores[name].append(accuracy)
        for name, values in scores.items():
            print(f"  {name:13} 50 labels: {np.mean(values):.3f} +- {np.std(values):.3f}")
        if save is not None:
            save.parent.mkdir(parents=True, exist_ok=True)
            save.write_bytes(weights.read_bytes())
            print(f"weights kept at {save}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[300, 1000])
    parser.add_argument("--input-size", type=int, default=32)
    parser.add_argument("--evaluate", choices=["digits", "photolike"], default=None)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--save", type=Path, default=None, help="keep the pretrained weights here")
    args = parser.parse_args()
    if args.sizes:
        _speed(args.sizes, args.input_size)
    if args.evaluate:
        _evaluate(args.evaluate, args.epochs, args.input_size, args.save)


if __name__ == "__main__":
    main()
