"""The seeded generator strategies draw from; parameters themselves are checked by
:meth:`labelloop.plugins.Configurable.check_params`."""

import numpy as np

from labelloop.plugins import Seed
from labelloop.strategies.errors import InvalidParameterError

__all__ = ["make_rng"]

_SEED = Seed()


def make_rng(random_state: object) -> np.random.Generator:
    """Return a generator seeded with ``random_state`` (None: fresh OS entropy).

    Raises:
        InvalidParameterError: If ``random_state`` is neither None nor an integer >= 0.
    """
    return np.random.default_rng(_SEED.check("random_state", random_state, InvalidParameterError))
