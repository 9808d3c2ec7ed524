"""The Ray executor on a real local Ray: the same scores, and so the same ranking, as local."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from labelloop.data.arrays import load_images
from labelloop.data.photolike import write_photo_like
from labelloop.learners import make_learner
from labelloop.scale import LocalScorer, ScoreRequest
from labelloop.strategies import Pool, make_strategy

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install labelloop[ray]")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    # Two CPUs, actors at half a CPU each: whole CPUs deadlock a 2-core machine.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_photo_like(tmp_path_factory.mktemp("ray"), 40, seed=5, class_folders=False)


def _request(paths: list[str] | list[Path], *needs: str) -> ScoreRequest:
    return ScoreRequest(
        paths=paths,
        channels=3,
        size=(32, 32),
        policy="center_crop",
        needs=frozenset(needs),  # type: ignore[arg-type]
        n_samples=3,
    )


@pytest.mark.parametrize("decode_in_actor", [True, False], ids=["decode-in-actor", "decode-stage"])
def test_ray_scores_and_ranking_equal_local(
    local_ray: None, photos: list[Path], decode_in_actor: bool
) -> None:
    from labelloop.scale.ray import RayScorer

    X = load_images(photos, size=(32, 32), channels=3)
    learner = make_learner("cnn", n_classes=10, input_shape=(3, 32, 32))
    learner.epochs, learner.min_steps = 2, 0  # type: ignore[attr-defined]
    learner.fit(X, np.arange(len(photos)) % 10)
    paths = [*photos[:7], photos[0].with_name("missing.jpg"), *photos[7:]]
    request = _request(paths, "probs", "embeddings", "samples")
    local = LocalScorer(chunk_size=8).score(learner, request)
    remote = RayScorer(chunk_size=8, decode_in_actor=decode_in_actor).score(learner, request)
    assert remote.failed.tolist() == local.failed.tolist() == [7]
    assert local.probs is not None and remote.probs is not None
    np.testing.assert_allclose(remote.probs, local.probs, rtol=1e-5, atol=1e-7, equal_nan=True)
    np.testing.assert_allclose(remote.embeddings, local.embeddings, rtol=1e-4, atol=1e-5)  # type: ignore[arg-type]
    assert remote.samples is not None and remote.samples.shape == (3, len(paths), 10)
    labeled = np.zeros(len(paths), dtype=bool)
    labeled[[0, 7]] = True
    for name in ("margin", "entropy", "coreset"):
        strategy = make_strategy(name, random_state=0)
        picks = [
            strategy.select(
                Pool(
                    labeled=labeled,
                    probs=None if s.probs is None else np.nan_to_num(s.probs, nan=0.1),
                    embeddings=None if s.embeddings is None else np.nan_to_num(s.embeddings),
                ),
                10,
            ).tolist()
            for s in (local, remote)
        ]
        assert picks[0] == picks[1], name


def test_ray_reads_fsspec_urls(local_ray: None, photos: list[Path]) -> None:
    import fsspec

    from labelloop.scale.ray import RayScorer

    memory = fsspec.filesystem("memory")
    urls = []
    for path in photos[:6]:
        url = f"memory://pool/{path.name}"
        memory.pipe(url, path.read_bytes())
        urls.append(url)
    # The memory filesystem lives in this process, so decode here; the file:// URLs go to Ray.
    local = LocalScorer().score(None, _request(urls, "pixels"))
    direct = LocalScorer().score(None, _request(photos[:6], "pixels"))
    np.testing.assert_array_equal(local.pixels, direct.pixels)
    files = [f"file://{p}" for p in photos[:6]]
    remote = RayScorer().score(None, _request(files, "pixels"))
    np.testing.assert_allclose(remote.pixels, direct.pixels, atol=1e-6)  # type: ignore[arg-type]


def test_a_round_on_ray_ranks_as_the_local_round(local_ray: None, tmp_path: Path) -> None:
    import shutil

    from labelloop.config import ProjectConfig
    from labelloop.data.demo import DIGITS_CLASSES
    from labelloop.loop import Workspace, run_round
    from labelloop.loop.settings import apply_settings
    from labelloop.store import LabelInput

    photos = tmp_path / "photos"
    write_photo_like(photos, 80, seed=8)
    config = ProjectConfig(name="p", classes=DIGITS_CLASSES, learner="logreg", batch_size=10)
    ws = Workspace.init(tmp_path / "local", config)
    ws.import_folder(photos, with_labels=False)
    items = ws.store.items(ws.project.id)
    ws.store.record_labels(
        ws.project.id,
        [LabelInput(i.id, i.name.split("/")[0], annotator="t") for i in items[::4]],
    )
    ws.close()
    shutil.copytree(tmp_path / "local", tmp_path / "ray")
    on_ray = Workspace.open(tmp_path / "ray")
    changes = apply_settings(on_ray, {"scale.executor": "ray"}, who="t")
    assert [c.key for c in changes] == ["scale.executor"]
    local = run_round(Workspace.open(tmp_path / "local"))
    remote = run_round(on_ray)
    assert remote.round.selected == local.round.selected
    assert remote.metrics.model_health == local.metrics.model_health
