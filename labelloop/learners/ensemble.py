"""Deep ensembles: several networks trained alike from different seeds."""

from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
from numpy.typing import NDArray

from labelloop.learners._checkpoint import Checkpoint
from labelloop.learners._validation import check_fitted, check_n_samples
from labelloop.learners.base import Images, Labels
from labelloop.learners.errors import InvalidParameterError, WeightsMismatchError
from labelloop.learners.torch_classifier import TorchClassifier
from labelloop.plugins import Configurable, Constraint, Integer

__all__ = ["DeepEnsemble"]

_CHECKPOINT = Checkpoint("DeepEnsemble", version=1, hint="load it with the learner that wrote it.")


@dataclass(eq=False, repr=False)
class DeepEnsemble(Configurable):
    """``members`` copies of a :class:`TorchClassifier`, each trained from its own seed.

    Member ``i`` takes every parameter of ``base`` except ``random_state``,
    which is ``base.random_state + i``: member 0 is the model ``base`` alone
    would be. The members differ by initialisation, shuffling and dropout
    masks. ``base`` itself is never fitted; it only holds the parameters, and
    changes to them reach the members at the next :meth:`fit`.

    With ``base.warm_start`` each member continues from its own weights at the
    next :meth:`fit`. With ``base.calibrate`` each member fits its own
    temperature on the validation split.

    Args:
        base: An unfitted classifier whose parameters every member copies.
        members: Number of members, at least 1.

    Attributes:
        members_: The fitted members, member ``i`` seeded with
            ``base.random_state + i``.
    """

    constraints: ClassVar[dict[str, Constraint]] = {"members": Integer(low=1)}
    parameter_error = InvalidParameterError

    base: TorchClassifier
    _: KW_ONLY
    members: int = 5

    members_: list[TorchClassifier] = field(init=False)

    @property
    def n_classes(self) -> int:
        """Number of classes, that of ``base``."""
        return self.base.n_classes

    @n_classes.setter
    def n_classes(self, value: int) -> None:
        self.base.n_classes = value

    def fit(
        self, X: Images, y: Labels, X_val: Images | None = None, y_val: Labels | None = None
    ) -> Self:
        """Fit every member on the labeled set, one after another.

        Arguments and result as :meth:`~labelloop.learners.base.Learner.fit`.

        Raises:
            InvalidParameterError: If ``members`` or a parameter of ``base`` is
                out of range.
            InvalidInputError: If the images or labels are malformed.
        """
        members = self._updated_members()
        for member in members:
            member.fit(X, y, X_val, y_val)
        self.members_ = members
        return self

    def refit(self, X: NDArray[np.floating], y: NDArray[np.integer]) -> Self:
        """Refit every member on all labels (:meth:`TorchClassifier.refit`)."""
        self._check_fitted()
        for member in self.members_:
            member.refit(X, y)
        return self

    def predict_proba(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        """The members' mean class probabilities.

        Arguments and result as :meth:`~labelloop.learners.base.Learner.predict_proba`.

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
            InvalidInputError: If ``X`` does not match ``input_shape``.
        """
        self._check_fitted()
        total = self.members_[0].predict_proba(X)
        for member in self.members_[1:]:
            total += member.predict_proba(X)
        return total / len(self.members_)

    def predict_samples(
        self, X: NDArray[np.floating], n_samples: int | None = None
    ) -> NDArray[np.float64]:
        """Each member's class probabilities, one sample per member.

        Arguments and result as :meth:`~labelloop.learners.base.SupportsSamples.predict_samples`.

        The samples are deterministic: member ``i`` gives sample ``i``, with
        dropout off. Their mean over all members is :meth:`predict_proba`.

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
            InvalidInputError: If ``X`` does not match ``input_shape``.
            InvalidParameterError: If ``n_samples`` is not a positive int.
        """
        self._check_fitted()
        count = check_n_samples(n_samples, len(self.members_))
        return np.stack([member.predict_proba(X) for member in self.members_[:count]])

    def embed(self, X: NDArray[np.floating]) -> NDArray[np.float32]:
        """The first member's penultimate-layer features.

        Arguments and result as :meth:`~labelloop.learners.base.Learner.embed`.

        Each member learns its own feature space, so averaging the members'
        features would mix unrelated coordinates; member 0's stand for all.

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
            InvalidInputError: If ``X`` does not match ``input_shape``.
        """
        self._check_fitted()
        return self.members_[0].embed(X)

    def save(self, path: Path) -> None:
        """Write every member's weights and temperature to one file.

        Arguments as :meth:`~labelloop.learners.base.Learner.save`.

        Raises:
            NotFittedError: If called before :meth:`fit` or :meth:`load`.
        """
        self._check_fitted()
        members = [member._to_state() for member in self.members_]
        _CHECKPOINT.save(path, _CHECKPOINT.state(members=members))

    def load(self, path: Path) -> Self:
        """Restore an ensemble written by :meth:`save`.

        Arguments and result as :meth:`~labelloop.learners.base.Learner.load`.

        Raises:
            InvalidParameterError: If ``members`` or a parameter of ``base`` is
                out of range.
            ModelFileNotFoundError: If ``path`` does not exist.
            ModelFileCorruptError: If the file is not a saved ``DeepEnsemble``.
            WeightsMismatchError: If it holds another number of members, or
                members of another network, ``n_classes`` or ``input_shape``.
        """
        path = Path(path)
        state = _CHECKPOINT.read(path)
        saved = state["members"]
        members = self._new_members()
        if len(saved) != len(members):
            raise WeightsMismatchError(
                f"{path} holds {len(saved)} members but this ensemble has {len(members)}; "
                f"build it with members={len(saved)}."
            )
        for member, member_state in zip(members, saved, strict=True):
            member._from_state(member_state, path)
        self.members_ = members
        return self

    def _new_members(self) -> list[TorchClassifier]:
        count = self.check_params()["members"]
        seed = self.base.check_params()["random_state"]
        params = self.base.get_params()
        return [type(self.base)(**(params | {"random_state": seed + i})) for i in range(count)]

    def _updated_members(self) -> list[TorchClassifier]:
        """Fresh members, with the fitted ones (and their weights) kept in place.

        A fitted member gets the current parameters of ``base`` but keeps its
        network, so warm start carries over; members beyond the old count start
        fresh, and members beyond the new count are dropped.
        """
        fresh = self._new_members()
        fitted = getattr(self, "members_", [])
        for index, member in enumerate(fitted[: len(fresh)]):
            member.set_params(**fresh[index].get_params())
            fresh[index] = member
        return fresh

    def _check_fitted(self) -> None:
        check_fitted(self, "members_")
