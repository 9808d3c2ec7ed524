"""Session-wide test settings."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def empty_torch_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never see the machine's torch cache: whether ImageNet weights happen to be
    downloaded there must not change what a test decides (tests that need a weights
    file place one in their own TORCH_HOME)."""
    old = os.environ.get("TORCH_HOME")
    os.environ["TORCH_HOME"] = str(tmp_path_factory.mktemp("torch-home"))
    yield
    if old is None:
        os.environ.pop("TORCH_HOME", None)
    else:
        os.environ["TORCH_HOME"] = old
