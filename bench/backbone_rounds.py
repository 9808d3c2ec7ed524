"""Round time of a backbone learner: ``finetune`` against ``embed`` on photo-like images.

A project of photo-like images (200-400 px, mixed sizes, RGB and grayscale
JPEG/PNG, some EXIF-rotated; input decided at 64x64) with 50 labels runs
``--rounds`` rounds per mode with torchvision's ResNet-18 at ``--input-size``
(the backbone's side), its weights from a file of random values (the time
does not depend on them; no ImageNet file can be downloaded here). Between rounds 10 more labels
arrive, as in a labeling session. Prints each round's wall time and the
ratio of the later rounds' means (finetune / embed), and the peak RSS:

    OMP_NUM_THREADS=2 .venv/bin/python bench/backbone_rounds.py [--images 600]
        [--rounds 3] [--input-size 112] [--modes embed] [--head mlp_dropout --strategy bald]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
from torchvision.models import get_model

from labelloop.config import ProjectConfig
from labelloop.data.demo import DIGITS_CLASSES
from labelloop.data.photolike import write_photo_like
from labelloop.loop import Workspace, run_round


def _project(
    root: Path,
    photos: Path,
    mode: str,
    input_size: int,
    labeled: int,
    weights: Path,
    head: str = "logreg",
    strategy: str = "margin",
) -> Workspace:
    config = ProjectConfig.model_validate(
        {
            "name": mode,
            "classes": DIGITS_CLASSES,
            "learner": "resnet18",
            "strategy": strategy,
            "backbone": {
                "weights": str(weights),
                "mode": mode,
                "input_size": input_size,
                "head": head,
            },
            "auto_label_threshold": None,
        }
    )
    ws = Workspace.init(root / mode, config)
    ws.import_folder(photos, with_labels=False)
    truth = {p.name: p.parent.name for p in photos.rglob("*") if p.is_file()}
    items = ws.store.items(ws.project.id)
    # A random draw: the import order is class by class.
    order = np.random.default_rng(0).permutation(len(items))
    for item in [items[i] for i in order[:labeled]]:
        ws.store.record_label(ws.project.id, item.id, truth[Path(item.name).name], source="human")
    return ws


def _label_more(ws: Workspace, photos: Path, n: int) -> None:
    truth = {p.name: p.parent.name for p in photos.rglob("*") if p.is_file()}
    labeled = set(ws.store.current_labels(ws.project.id))
    fresh = [i for i in ws.store.items(ws.project.id) if i.id not in labeled]
    fresh = [fresh[i] for i in np.random.default_rng(len(labeled)).permutation(len(fresh))[:n]]
    for item in fresh:
        ws.store.record_label(ws.project.id, item.id, truth[Path(item.name).name], source="human")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--input-size", type=int, default=112)
    parser.add_argument("--modes", default="embed,finetune")
    parser.add_argument("--head", default="logreg", help="embed mode's head: logreg, mlp, ...")
    parser.add_argument("--strategy", default="margin", help="e.g. bald for sampled heads")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="backbone-bench-"))
    try:
        photos = root / "photos"
        write_photo_like(photos, args.images, seed=1)
        # A weights file (random values) so that both modes run torchvision's ResNet-18 at
        # the backbone's input size, as with ImageNet weights.
        weights = root / "resnet18.pt"
        torch.save(get_model("resnet18", weights=None).state_dict(), weights)
        times: dict[str, list[float]] = {}
        for mode in args.modes.split(","):
            ws = _project(
                root,
                photos,
                mode,
                args.input_size,
                labeled=50,
                weights=weights,
                head=args.head,
                strategy=args.strategy,
            )
            for number in range(args.rounds):
                started = time.perf_counter()
                result = run_round(ws)
                took = time.perf_counter() - started
                times.setdefault(mode, []).append(took)
                accuracy = result.metrics.validation_value("accuracy")
                print(
                    f"{mode:8} round {number + 1}: {took:7.1f} s  "
                    f"labels {result.metrics.n_labeled}  val acc {accuracy}",
                    flush=True,
                )
                _label_more(ws, photos, 10)
            ws.close()
        later = {mode: sum(t[1:]) / max(1, len(t) - 1) for mode, t in times.items()}
        if len(later) == 2:
            print(
                f"\nrounds after the first: finetune {later['finetune']:.1f} s, "
                f"embed {later['embed']:.1f} s, ratio {later['finetune'] / later['embed']:.1f}x; "
                f"first embed round {times['embed'][0]:.1f} s (computes the pool's embeddings)"
            )
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
