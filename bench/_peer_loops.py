"""The peers' active-learning loops for bench/peer_efficiency.py (run in the peers' venv).

Reads the splits the bench wrote (pool, test, each repeat's seed set), runs
scikit-activeml's and modAL's own loops with logistic regression on the
same pixels, and writes test accuracy after every batch as JSON:

    runs/peers-venv/bin/python bench/_peer_loops.py SPLITS.npz OUT.json \
        --strategies margin,entropy,random --batch-size 20 --budget 600

Only the peers' packages and scikit-learn are imported: nothing of labelloop.
"""

from __future__ import annotations

import argparse
import json
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.linear_model import LogisticRegression

warnings.filterwarnings("ignore")


def _logreg(seed: int) -> LogisticRegression:
    # The same estimator labelloop's "logreg" learner wraps.
    return LogisticRegression(C=1.0, max_iter=1000, random_state=seed)


def _accuracy(model: object, X: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    probs = np.zeros((len(X), n_classes))
    probs[:, model.classes_] = model.predict_proba(X)  # type: ignore[attr-defined]
    return float((probs.argmax(axis=1) == y).mean())


def skactiveml_run(
    X: np.ndarray,
    y: np.ndarray,
    Xt: np.ndarray,
    yt: np.ndarray,
    init: np.ndarray,
    strategy: str,
    batch: int,
    budget: int,
    seed: int,
    n_classes: int,
) -> list[tuple[int, float]]:
    from skactiveml.classifier import SklearnClassifier
    from skactiveml.pool import RandomSampling, UncertaintySampling
    from skactiveml.utils import MISSING_LABEL

    clf = SklearnClassifier(_logreg(seed), classes=np.arange(n_classes), random_state=seed)
    if strategy == "random":
        qs = RandomSampling(random_state=seed)
    else:
        method = {"margin": "margin_sampling", "entropy": "entropy"}[strategy]
        qs = UncertaintySampling(method=method, random_state=seed)
    y_known = np.full(len(y), MISSING_LABEL)
    y_known[init] = y[init]
    curve = []
    while True:
        clf.fit(X, y_known)
        n = int((~np.isnan(y_known)).sum())
        curve.append((n, float((clf.predict(Xt) == yt).mean())))
        if n >= budget:
            return curve
        kwargs = {} if strategy == "random" else {"clf": clf}
        chosen = qs.query(X=X, y=y_known, batch_size=min(batch, budget - n), **kwargs)
        y_known[chosen] = y[chosen]


def modal_run(
    X: np.ndarray,
    y: np.ndarray,
    Xt: np.ndarray,
    yt: np.ndarray,
    init: np.ndarray,
    strategy: str,
    batch: int,
    budget: int,
    seed: int,
    n_classes: int,
) -> list[tuple[int, float]]:
    # modAL's query strategies on the estimator itself: modAL's ActiveLearner
    # calls check_X_y(force_all_finite=...), which newer scikit-learn removed.
    from modAL.uncertainty import entropy_sampling, margin_sampling

    rng = np.random.default_rng(seed)

    def random_sampling(model: object, X_pool: np.ndarray, n_instances: int = 1) -> np.ndarray:
        return rng.choice(len(X_pool), size=n_instances, replace=False)

    query: Callable[..., np.ndarray] = {
        "margin": margin_sampling,
        "entropy": entropy_sampling,
        "random": random_sampling,
    }[strategy]
    labeled = np.zeros(len(y), dtype=bool)
    labeled[init] = True
    estimator = _logreg(seed)
    curve = []
    while True:
        estimator.fit(X[labeled], y[labeled])
        n = int(labeled.sum())
        curve.append((n, _accuracy(estimator, Xt, yt, n_classes)))
        if n >= budget:
            return curve
        pool = np.flatnonzero(~labeled)
        picked = query(estimator, X[pool], n_instances=min(batch, budget - n))
        chosen = pool[np.asarray(picked[0] if isinstance(picked, tuple) else picked)]
        labeled[chosen] = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("splits")
    parser.add_argument("out")
    parser.add_argument("--strategies", default="margin,entropy,random")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--budget", type=int, default=600)
    args = parser.parse_args()
    data = np.load(args.splits)
    X, y, Xt, yt = data["X_pool"], data["y_pool"], data["X_test"], data["y_test"]
    n_classes = int(data["n_classes"])
    results = []
    for tool, run in (("scikit-activeml", skactiveml_run), ("modAL", modal_run)):
        for repeat, init in enumerate(data["inits"]):
            seed = int(data["seeds"][repeat])
            for strategy in args.strategies.split(","):
                curve = run(
                    X, y, Xt, yt, init, strategy, args.batch_size, args.budget, seed, n_classes
                )
                results.append(
                    {"tool": tool, "strategy": strategy, "repeat": repeat, "curve": curve}
                )
    with open(args.out, "w") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main()
