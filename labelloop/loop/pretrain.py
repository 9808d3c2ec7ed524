"""``labelloop pretrain``: SimCLR on the project's own pool, then use the result as its backbone.

The images stream from the project's media in shuffled batches each epoch
(at the project's input geometry), so memory holds one batch, not the pool.
The checkpoint lives in ``PROJECT/models/pretrain-<backbone>.ckpt``: running
the command again after a stop resumes at the next epoch (``restart``
starts over). The finished backbone is ``PROJECT/models/pretrained-<backbone>.pt``;
with ``use``, the project's settings switch to it (``learner``,
``backbone.weights``, ``backbone.input_size``; ``embed`` mode unless the
project already fine-tunes), recorded like any settings change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from labelloop.learners.pretrain import PretrainResult, PretrainSettings, pretrain
from labelloop.loop.settings import SettingChange, apply_settings
from labelloop.loop.workspace import Workspace

__all__ = ["PretrainSettings", "ProjectPretrain", "pretrain_project"]


@dataclass
class ProjectPretrain:
    """A finished pretraining run of a project, and the settings it changed."""

    result: PretrainResult
    changes: list[SettingChange]
    images: int


def pretrain_project(
    ws: Workspace,
    settings: PretrainSettings,
    *,
    batch_size: int = 64,
    restart: bool = False,
    use: bool = True,
    on_step: Callable[[int, int, float], None] | None = None,
) -> ProjectPretrain:
    """Pretrain ``settings.backbone`` on every pool image (module docstring).

    Raises:
        ValueError: the pool has fewer than two images.
    """
    items = ws.store.items(ws.project.id)
    if len(items) < 2:
        raise ValueError("pretraining needs at least two images in the pool; import some first")
    paths = [ws.image_path(item) for item in items]
    batch_size = max(2, min(batch_size, len(paths)))

    # A last batch of one image is left out (a contrastive batch needs two).
    starts = range(0, len(paths) - 1, batch_size)

    def batches(epoch: int) -> Iterator[NDArray[np.float32]]:
        order = np.random.default_rng([settings.seed, epoch]).permutation(len(paths))
        for start in starts:
            chosen = order[start : start + batch_size]
            yield ws.load_paths([paths[i] for i in chosen])

    ws.models_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = ws.models_dir / f"pretrain-{settings.backbone}.ckpt"
    if restart:
        checkpoint.unlink(missing_ok=True)
    weights = ws.models_dir / f"pretrained-{settings.backbone}.pt"
    result = pretrain(
        batches,
        settings,
        checkpoint=checkpoint,
        weights_out=weights,
        on_step=on_step,
        steps_per_epoch=len(starts),
    )
    changes: list[SettingChange] = []
    if use:
        mode = (
            "finetune"
            if ws.config.backbone.mode == "finetune" and ws.config.learner == settings.backbone
            else "embed"
        )
        changes = apply_settings(
            ws,
            {
                "learner": settings.backbone,
                "backbone.weights": str(weights.resolve()),
                "backbone.input_size": settings.input_size,
                "backbone.mode": mode,
            },
            who="labelloop pretrain",
            note=f"self-supervised backbone from {len(paths)} pool images",
        )
    return ProjectPretrain(result, changes, len(paths))
