"""labelloop.loop.synthesize: variants of pool images stored as new items with provenance."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression

from labelloop.data.arrays import load_images
from labelloop.learners import SklearnLearner
from labelloop.loop import Workspace
from labelloop.loop.synthesize import synthesize_queries, to_png
from labelloop.synthesis import SynthesisConfig


def test_to_png_writes_gray_and_rgb_images_in_8_bits() -> None:
    gray = np.linspace(0, 1, 12, dtype=np.float32).reshape(1, 3, 4)
    with Image.open(io.BytesIO(to_png(gray))) as image:
        assert (image.mode, image.size) == ("L", (4, 3))
        np.testing.assert_array_equal(np.asarray(image), np.rint(gray[0] * 255))
    rgb = np.zeros((3, 2, 2), dtype=np.float32)
    rgb[0] = 1.0  # red
    rgb[2, 0, 0] = 2.0  # out of range: clipped, not wrapped
    with Image.open(io.BytesIO(to_png(rgb))) as image:
        assert image.mode == "RGB"
        assert np.asarray(image)[0, 0].tolist() == [255, 0, 255]
        assert np.asarray(image)[1, 1].tolist() == [255, 0, 0]


@pytest.fixture
def fitted(ws: Workspace, truth: dict[int, str]) -> SklearnLearner:
    """A logistic regression fitted on every third item of ``ws``."""
    items = ws.store.items(ws.project.id)[::3]
    learner = SklearnLearner(LogisticRegression(max_iter=500), n_classes=10)
    labels = np.array([int(truth[item.id]) for item in items], dtype=np.int64)
    learner.fit(ws.load_arrays(items), labels)
    return learner


def test_chosen_variants_become_items_that_record_their_source(
    ws: Workspace, fitted: SklearnLearner
) -> None:
    pid = ws.project.id
    items = ws.store.items(pid)
    probs = fitted.predict_proba(ws.load_arrays(items))
    config = SynthesisConfig(enabled=True, k=3, max_sources=20)
    made = synthesize_queries(ws, config, fitted, items, probs, seed=0)
    assert len(made) == 3 == len(set(made))
    real = {item.id: item for item in items}
    assert not set(made) & set(real)
    for item_id in made:
        item = ws.store.item(pid, item_id)
        assert item.provenance is not None and item.name.startswith("synthetic/")
        source = real[item.provenance["source_item"]]
        assert item.name.startswith(f"synthetic/{source.id}-{item.provenance['transform']}-")
        assert (item.width, item.height, item.mode) == (source.width, source.height, "L")
        stored = load_images([ws.image_path(item)])[0]
        assert stored.shape == ws.load_arrays([source])[0].shape
    assert len(ws.store.items(pid)) == len(items) + 3


def test_the_same_seed_adds_no_item_twice_and_variants_are_never_sources(
    ws: Workspace, fitted: SklearnLearner
) -> None:
    pid = ws.project.id
    items = ws.store.items(pid)
    probs = fitted.predict_proba(ws.load_arrays(items))
    config = SynthesisConfig(enabled=True, k=2, max_sources=10)
    first = synthesize_queries(ws, config, fitted, items, probs, seed=4)
    again = synthesize_queries(ws, config, fitted, items, probs, seed=4)
    # The same variants again: the stored items come back, none is added.
    assert again == first and len(ws.store.items(pid)) == len(items) + 2
    variants = [ws.store.item(pid, i) for i in first]
    only_variants = synthesize_queries(
        ws, config, fitted, variants, fitted.predict_proba(ws.load_arrays(variants)), seed=0
    )
    assert only_variants == []
