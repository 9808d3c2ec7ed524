"""Building strategies by name."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labelloop.strategies import (
    BADGE,
    BALD,
    STRATEGIES,
    STRATEGY_NAMES,
    ClusterMargin,
    ConsensusKL,
    CoreSet,
    DensityWeighted,
    DiverseEntropySampling,
    DiverseLeastConfidence,
    DiverseMarginSampling,
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    MeanStd,
    ProbCover,
    RandomSampling,
    TypiClust,
    UnknownStrategyError,
    VariationRatios,
    VoteEntropy,
    make_strategy,
)

CLASSES = {
    "badge": BADGE,
    "bald": BALD,
    "cluster_margin": ClusterMargin,
    "consensus_kl": ConsensusKL,
    "coreset": CoreSet,
    "density_weighted": DensityWeighted,
    "entropy": EntropySampling,
    "entropy_diverse": DiverseEntropySampling,
    "least_confidence": LeastConfidence,
    "least_confidence_diverse": DiverseLeastConfidence,
    "margin": MarginSampling,
    "margin_diverse": DiverseMarginSampling,
    "mean_std": MeanStd,
    "random": RandomSampling,
    "probcover": ProbCover,
    "typiclust": TypiClust,
    "variation_ratios": VariationRatios,
    "vote_entropy": VoteEntropy,
}

# What each strategy reads: the loop computes only these, so they must be exact.
REQUIRES = {
    "badge": {"probs", "embeddings"},
    "bald": {"samples"},
    "cluster_margin": {"probs", "embeddings"},
    "consensus_kl": {"samples"},
    "coreset": {"embeddings"},
    "density_weighted": {"probs", "embeddings"},
    "entropy": {"probs"},
    "entropy_diverse": {"probs", "embeddings"},
    "least_confidence": {"probs"},
    "least_confidence_diverse": {"probs", "embeddings"},
    "margin": {"probs"},
    "margin_diverse": {"probs", "embeddings"},
    "mean_std": {"samples"},
    "random": set(),
    "probcover": {"embeddings"},
    "typiclust": {"embeddings"},
    "variation_ratios": {"samples"},
    "vote_entropy": {"samples"},
}


def test_names_are_sorted_and_complete() -> None:
    assert tuple(sorted(CLASSES)) == STRATEGY_NAMES


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_requires_names_exactly_what_the_strategy_reads(name: str) -> None:
    assert make_strategy(name).requires == REQUIRES[name]


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_registry_needs_match_what_the_class_requires(name: str) -> None:
    # The loop and the docs read `needs` without importing the class.
    assert STRATEGIES.entry(name).needs == REQUIRES[name]
    assert STRATEGIES.help()[name]


def test_the_registries_import_without_torch() -> None:
    code = (
        "import sys, labelloop.strategies.registry as r; "
        "assert r.STRATEGY_NAMES and r.DETECTION_STRATEGY_NAMES and r.STREAM_SELECTOR_NAMES; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("name", "cls"), sorted(CLASSES.items()))
def test_each_name_builds_its_class(name: str, cls: type) -> None:
    strategy = make_strategy(name)
    assert type(strategy) is cls
    assert strategy.name == name


def test_random_state_reaches_strategies_that_take_one() -> None:
    assert make_strategy("random", random_state=5).get_params() == {"random_state": 5}
    assert make_strategy("entropy", random_state=5).get_params() == {}
    for name in ("badge", "cluster_margin", "typiclust"):
        assert make_strategy(name, random_state=5).get_params()["random_state"] == 5
    assert "random_state" not in make_strategy("coreset", random_state=5).get_params()


def test_unknown_name_lists_the_allowed_ones() -> None:
    with pytest.raises(
        UnknownStrategyError, match=r"badge, bald, cluster_margin, .*, vote_entropy"
    ):
        make_strategy("bald_mc")
    with pytest.raises(ValueError, match="'Entropy'"):
        make_strategy("Entropy")


def test_registry_docstring_examples_run() -> None:
    import doctest

    import labelloop.strategies.registry as registry

    result = doctest.testmod(registry, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_a_strategy_from_another_installed_package_is_a_valid_setting(tmp_path: Path) -> None:
    """A package that declares a ``labelloop.strategies`` entry point adds a strategy:
    the project settings accept its name and the round builds it, labelloop untouched."""
    (tmp_path / "gap_plugin.py").write_text(
        "import numpy as np\n"
        "from labelloop.strategies.uncertainty import UncertaintyStrategy\n\n"
        "class SmallestGap(UncertaintyStrategy):\n"
        "    name = 'smallest_gap'\n\n"
        "    def _score_block(self, block, out):\n"
        "        top = np.sort(block, axis=1)\n"
        "        out[:] = 1.0 - (top[:, -1] - top[:, -2])\n"
    )
    info = tmp_path / "gap_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gap-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[labelloop.strategies]\nsmallest_gap = gap_plugin:SmallestGap\n"
    )
    script = (
        "import numpy as np\n"
        "from labelloop.config import ProjectConfig\n"
        "from labelloop.strategies import Pool, make_strategy\n"
        "cfg = ProjectConfig(name='p', classes=('a', 'b'), strategy='smallest_gap')\n"
        "strategy = make_strategy(cfg.strategy)\n"
        "probs = np.array([[0.9, 0.1], [0.55, 0.45], [0.7, 0.3]])\n"
        "pool = Pool(labeled=np.zeros(3, dtype=bool), probs=probs)\n"
        "print(type(strategy).__name__, strategy.select(pool, 2).tolist())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["SmallestGap", "[1,", "2]"]
