"""labelloop.learners.embedding: where embed mode caches a backbone's embeddings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labelloop.learners.embedding import EmbeddingClassifier


def _folder(weights: str, root: Path) -> Path | None:
    learner = EmbeddingClassifier("timm", 10, (3, 32, 32), weights=weights, cache_root=root)
    return learner.cache.folder


def test_a_pretrained_tag_names_the_same_cache_wherever_the_project_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "cache"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    here = _folder("a1_in1k", root)
    monkeypatch.chdir(tmp_path / "b")
    assert _folder("a1_in1k", root) == here
    assert here is not None and here.name == "timm-a1_in1k-224"
    assert _folder("imagenet", root) != here


def test_a_weights_file_is_keyed_by_its_place_and_age(tmp_path: Path) -> None:
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"first")
    before = _folder(str(weights), tmp_path / "cache")
    assert before is not None and str(tmp_path) not in before.name  # a hash, not the path
    weights.write_bytes(b"second")
    os.utime(weights, ns=(1, 1))
    assert _folder(str(weights), tmp_path / "cache") != before
