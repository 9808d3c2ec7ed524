"""Membership-query synthesis in a project's round: variants become queued items.

After a round fits its model, augmented variants of pool images are scored;
the ones the model is least sure of, or whose prediction flips from their
source image's, are written as new items carrying their provenance (source
item, transform, parameters) and put at the head of the labeling queue, to be
labeled like any other item.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from labelloop.learners import Learner
from labelloop.loop.workspace import Workspace
from labelloop.store import Item, NewItem
from labelloop.synthesis import (
    SynthesisConfig,
    generate_variants,
    select_queries,
    source_rows,
)

__all__ = ["synthesize_queries", "to_png"]


def to_png(image: NDArray[np.float32]) -> bytes:
    """PNG bytes of a ``(C, H, W)`` image in [0, 1] (C = 1 gray, 3 RGB)."""
    pixels = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    picture = (
        Image.fromarray(pixels[0], mode="L")
        if pixels.shape[0] == 1
        else Image.fromarray(pixels.transpose(1, 2, 0), mode="RGB")
    )
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _add_variant(ws: Workspace, image: NDArray[np.float32], provenance: dict[str, object]) -> Item:
    data = to_png(image)
    sha = hashlib.sha256(data).hexdigest()
    relative = Path(sha[:2]) / f"{sha}.png"
    target = ws.media_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    name = f"synthetic/{provenance['source_item']}-{provenance['transform']}-{sha[:8]}.png"
    result = ws.store.add_items(
        ws.project.id,
        [
            NewItem(
                sha256=sha,
                name=name,
                uri=relative.as_posix(),
                width=image.shape[2],
                height=image.shape[1],
                mode="L" if image.shape[0] == 1 else "RGB",
                format="PNG",
                size_bytes=len(data),
                provenance=provenance,
            )
        ],
    )
    if result.added:
        return result.added[0]
    return ws.store.item(ws.project.id, result.duplicates[0][1])


def synthesize_queries(
    ws: Workspace,
    config: SynthesisConfig,
    learner: Learner,
    items: list[Item],
    probs: NDArray[np.float64],
    *,
    seed: int,
) -> list[int]:
    """Generate and score variants; store the chosen ones as items and return their ids.

    The caller queues them (the round puts them at the head of its ranking).

    Args:
        ws: the open project.
        config: the project's synthesis settings.
        learner: the round's fitted model.
        items: the pool's items, aligned with ``probs``; only the drawn
            sources' images are read.
        probs: ``(n, n_classes)`` the model's probabilities for the pool.
        seed: seed of the source draw and the transforms' parameters.
    """
    # Variants of variants drift away from anything real: only real images are sources.
    real = np.array([item.provenance is None for item in items], dtype=bool)
    candidates = np.flatnonzero(real)
    if len(candidates) == 0:
        return []
    rng = np.random.default_rng(seed)
    count = min(config.max_sources, len(candidates))
    sources = np.sort(rng.choice(candidates, size=count, replace=False))
    source_ids = [items[i].id for i in sources]
    variants, provenance = generate_variants(
        ws.load_arrays([items[i] for i in sources]),
        source_ids,
        per_image=config.per_image,
        transforms=config.transforms,
        random_state=seed,
        ranges=config.ranges,
    )
    rows = source_rows(provenance, source_ids)
    chosen = select_queries(
        learner.predict_proba(variants),
        probs[sources],
        rows,
        k=config.k,
        mode=config.mode,
        strategy=config.strategy,
        max_per_source=config.max_per_source,
    )
    return [_add_variant(ws, variants[i], provenance[i].to_dict()).id for i in chosen]
