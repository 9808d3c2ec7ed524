"""The streaming pool scorer gives what scoring the whole array at once gives, chunk by chunk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labelloop.data.arrays import load_images
from labelloop.data.photolike import write_photo_like
from labelloop.learners import make_learner
from labelloop.scale import LocalScorer, SamplesUnavailableError, ScoreRequest


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_photo_like(tmp_path_factory.mktemp("photos"), 23, seed=3, class_folders=False)


def _request(paths: list[Path], cache: Path | None, *needs: str) -> ScoreRequest:
    return ScoreRequest(
        paths=paths,
        channels=3,
        size=(32, 32),
        policy="center_crop",
        needs=frozenset(needs),  # type: ignore[arg-type]
        n_samples=4,
        cache_dir=cache,
    )


@pytest.mark.parametrize("workers", [0, 2])
def test_chunked_scores_equal_whole_array_scores(
    photos: list[Path], tmp_path: Path, workers: int
) -> None:
    X = load_images(photos, size=(32, 32), channels=3)
    learner = make_learner("cnn", n_classes=10, input_shape=(3, 32, 32))
    learner.epochs, learner.min_steps = 1, 0  # type: ignore[attr-defined]
    learner.fit(X, np.arange(len(photos)) % 10)
    scores = LocalScorer(chunk_size=5, workers=workers).score(
        learner, _request(photos, tmp_path / "cache", "probs", "embeddings", "pixels")
    )
    assert scores.ok.all() and len(scores.failed) == 0
    assert scores.probs is not None and scores.embeddings is not None
    np.testing.assert_allclose(scores.probs, learner.predict_proba(X), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(scores.embeddings, learner.embed(X), rtol=1e-4, atol=1e-5)
    # Large outputs are memory-mapped files in the cache, readable like arrays.
    assert isinstance(scores.embeddings, np.memmap)
    on_disk = np.load(tmp_path / "cache" / "embeddings.npy", mmap_mode="r")
    np.testing.assert_array_equal(on_disk, scores.embeddings)
    assert scores.pixels is not None and scores.pixels.shape == (len(photos), 3 * 16 * 16)


def test_an_unreadable_image_is_reported_and_the_rest_scored(
    photos: list[Path], tmp_path: Path
) -> None:
    paths = list(photos[:6])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    paths.insert(2, broken)
    paths.append(tmp_path / "deleted.jpg")
    learner = make_learner("logreg", n_classes=10, input_shape=(3, 32, 32))
    X = load_images(photos[:6], size=(32, 32), channels=3)
    learner.fit(X, np.arange(6) % 10)
    progress: list[tuple[int, int]] = []
    scores = LocalScorer(chunk_size=3).score(
        learner, _request(paths, None, "probs"), on_progress=lambda d, n: progress.append((d, n))
    )
    assert scores.failed.tolist() == [2, 7]
    assert scores.probs is not None
    assert np.isnan(scores.probs[[2, 7]]).all()
    np.testing.assert_allclose(
        scores.probs[[0, 1, 3, 4, 5, 6]], learner.predict_proba(X), rtol=1e-5, atol=1e-7
    )
    assert progress == [(3, 8), (6, 8), (8, 8)]


def test_samples_need_a_learner_that_draws_them(photos: list[Path]) -> None:
    learner = make_learner("logreg", n_classes=10, input_shape=(3, 32, 32))
    learner.fit(load_images(photos[:10], size=(32, 32), channels=3), np.arange(10))
    with pytest.raises(SamplesUnavailableError, match="cnn_ensemble"):
        LocalScorer().score(learner, _request(photos, None, "probs", "samples"))


def test_grayscale_request_of_colour_files(photos: list[Path]) -> None:
    with Image.open(photos[0]) as first:
        assert first.mode == "RGB"
    request = ScoreRequest(
        paths=photos[:4],
        channels=1,
        size=(20, 30),
        policy="letterbox",
        needs=frozenset({"pixels"}),
    )
    scores = LocalScorer().score(None, request)
    assert scores.pixels is not None and scores.pixels.shape == (4, 16 * 16)
