"""Cleaning numeric image metadata: impossible values, winsorizing and imputation.

Images may arrive with numeric columns (exposure, temperature, speed, ...). A
:class:`MetadataCleaner` is fitted on a reference table and then cleans any
batch cell by cell, in this order:

1. Missing values (``None``, NaN, infinities, empty strings) are ``"missing"``.
2. Values a :class:`ValueRule` forbids (a negative speed) are ``"impossible"``
   and treated as missing.
3. Values outside the bounds learned from the reference are clipped to them
   (``"clipped_low"``, ``"clipped_high"``).
4. Missing and impossible cells are imputed from the reference.

Every cell that changes is recorded as a :class:`MetadataChange`; no other cell
changes. Strings that :func:`float` parses (``"12.5"``) are read as numbers;
any other string raises :class:`MetadataValueError` naming its row and column,
because a stray word usually means a shifted or mislabeled CSV column, which
imputation would hide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Self, get_args

import numpy as np
from numpy.typing import NDArray
from sklearn.impute import KNNImputer, SimpleImputer

from labelloop.monitor._constraints import OrValue, QuantilePair
from labelloop.monitor.errors import (
    InvalidMetadataParameterError,
    MetadataColumnError,
    MetadataError,
    MetadataNotFittedError,
    MetadataValueError,
)
from labelloop.plugins import Choice, Configurable, Constraint, Integer

__all__ = [
    "CHANGE_REASONS",
    "IMPUTE_METHODS",
    "ChangeReason",
    "CleaningResult",
    "ImputeMethod",
    "InvalidMetadataParameterError",
    "MetadataChange",
    "MetadataCleaner",
    "MetadataColumnError",
    "MetadataError",
    "MetadataNotFittedError",
    "MetadataTable",
    "MetadataValueError",
    "ValueRule",
]

ChangeReason = Literal["clipped_high", "clipped_low", "impossible", "missing"]
"""Why a cell changed."""

CHANGE_REASONS: tuple[str, ...] = get_args(ChangeReason)
"""The values of :data:`ChangeReason`, sorted."""

ImputeMethod = Literal["knn", "mean", "median"]
"""How :class:`MetadataCleaner` fills missing cells."""

IMPUTE_METHODS: tuple[str, ...] = get_args(ImputeMethod)
"""The values of :data:`ImputeMethod`, sorted."""

MetadataTable = Mapping[str, Sequence[float | int | str | None]]
"""Columns by name, each a sequence with one value per image (row)."""


@dataclass(frozen=True)
class ValueRule:
    """The range of physically possible values of one column.

    Attributes:
        column: Column name.
        minimum: Smallest possible value (inclusive); ``None`` for no bound.
        maximum: Largest possible value (inclusive); ``None`` for no bound.
    """

    column: str
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        """Reject bounds that are not finite numbers or that cross.

        Raises:
            InvalidMetadataParameterError: If a bound is not a finite number or
                ``minimum > maximum``.
        """
        for name in ("minimum", "maximum"):
            bound = getattr(self, name)
            if bound is not None and (
                isinstance(bound, bool)
                or not isinstance(bound, int | float)
                or not math.isfinite(bound)
            ):
                raise InvalidMetadataParameterError(
                    f"ValueRule({self.column!r}) {name} must be a finite number or None; "
                    f"got {bound!r}."
                )
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise InvalidMetadataParameterError(
                f"ValueRule({self.column!r}) has minimum {self.minimum} > maximum "
                f"{self.maximum}; swap them."
            )

    def violations(self, values: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which values are impossible.

        Args:
            values: One column, NaN for missing, shape ``(n,)``.

        Returns:
            ``True`` for finite values outside ``[minimum, maximum]``, shape ``(n,)``.
        """
        bad = np.zeros(values.shape, dtype=bool)
        finite = np.isfinite(values)
        if self.minimum is not None:
            bad |= finite & (values < self.minimum)
        if self.maximum is not None:
            bad |= finite & (values > self.maximum)
        return bad


@dataclass(frozen=True)
class MetadataChange:
    """One cell the cleaner changed.

    Attributes:
        row: Row index in the cleaned table.
        column: Column name.
        original: The input value, ``None`` when it was missing or NaN.
        cleaned: The value after cleaning (NaN when nothing could be imputed).
        reason: Why it changed.
    """

    row: int
    column: str
    original: float | None
    cleaned: float
    reason: ChangeReason

    def to_record(self) -> dict[str, object]:
        """JSON-ready form; non-finite numbers become ``None``."""
        return {
            "row": self.row,
            "column": self.column,
            "original": _json_number(self.original),
            "cleaned": _json_number(self.cleaned),
            "reason": self.reason,
        }


def _json_number(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class CleaningResult:
    """A cleaned table beside the input it came from.

    Attributes:
        columns: Column names, in the cleaner's order.
        original: Input values per column as floats, NaN for missing, untouched,
            each of shape ``(n_rows,)``.
        cleaned: Cleaned values per column, each of shape ``(n_rows,)``.
        changes: Every changed cell, by row then column order.
    """

    columns: tuple[str, ...]
    original: dict[str, NDArray[np.float64]]
    cleaned: dict[str, NDArray[np.float64]]
    changes: tuple[MetadataChange, ...] = field(default=())

    def changed_cells(self) -> set[tuple[int, str]]:
        """The ``(row, column)`` of every changed cell."""
        return {(c.row, c.column) for c in self.changes}

    def to_records(self) -> list[dict[str, object]]:
        """The changes as JSON-ready dicts (row, column, original, cleaned, reason)."""
        return [c.to_record() for c in self.changes]


def _parse_cell(value: object, row: int, column: str) -> float:
    """One cell as a float, NaN for missing; raises on text that is not a number."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return math.nan
        try:
            return float(text)
        except ValueError:
            raise MetadataValueError(
                f"row {row}, column {column!r}: {value!r} is not a number; fix the value "
                "or leave the cell empty to have it imputed."
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise MetadataValueError(
            f"row {row}, column {column!r}: {value!r} ({type(value).__name__}) is not a number."
        )
    return float(value)


def _parse_table(
    table: MetadataTable, columns: Sequence[str] | None
) -> dict[str, NDArray[np.float64]]:
    """The table as float columns, checked for names and equal lengths."""
    if not isinstance(table, Mapping) or not table:
        raise MetadataColumnError("the metadata table must be a non-empty mapping of columns.")
    if columns is not None and set(table) != set(columns):
        missing = sorted(set(columns) - set(table))
        extra = sorted(set(table) - set(columns))
        raise MetadataColumnError(
            f"the table's columns differ from the fitted ones: missing {missing}, "
            f"unexpected {extra}; pass the same columns as the reference."
        )
    names = list(columns) if columns is not None else list(table)
    lengths = {name: len(table[name]) for name in names}
    if len(set(lengths.values())) > 1:
        raise MetadataColumnError(
            f"columns have unequal lengths {lengths}; every column needs one value per row."
        )
    return {
        name: np.array(
            [_parse_cell(v, i, name) for i, v in enumerate(table[name])], dtype=np.float64
        )
        for name in names
    }


@dataclass(eq=False, repr=False)
class MetadataCleaner(Configurable):
    """Marks impossible values, winsorizes and imputes numeric metadata.

    Args:
        rules: Physically possible ranges; each names a column of the reference.
        winsorize: Lower and upper quantiles of the reference's valid values to
            clip to, with ``0 <= low < high <= 1``; ``None`` clips nothing.
        impute: ``"median"`` or ``"mean"`` of the column, ``"knn"`` (mean of the
            ``n_neighbors`` reference rows nearest on the other columns), or
            ``None`` to leave missing cells NaN.
        n_neighbors: Neighbours for ``impute="knn"``.

    Attributes:
        columns_: Column names, in the reference's order.
        lower_: Clipping bound per column (``-inf`` without winsorizing).
        upper_: Clipping bound per column (``inf`` without winsorizing).
        imputer_: The fitted scikit-learn imputer, or ``None``.
        center_: Per-column centre the imputer sees data relative to, shape
            ``(n_columns,)``: the reference mean for ``"knn"``, else zeros.
        scale_: Per-column divisor, shape ``(n_columns,)``: the reference
            standard deviation for ``"knn"`` (1 where it is 0), else ones.
    """

    constraints: ClassVar[Mapping[str, Constraint]] = {
        "impute": OrValue(Choice(IMPUTE_METHODS), None),
        "n_neighbors": Integer(low=1),
        "winsorize": QuantilePair(),
    }
    parameter_error = InvalidMetadataParameterError

    rules: Sequence[ValueRule] = ()
    winsorize: tuple[float, float] | None = (0.01, 0.99)
    impute: ImputeMethod | None = "median"
    n_neighbors: int = 5
    columns_: tuple[str, ...] = field(init=False)
    lower_: dict[str, float] = field(init=False)
    upper_: dict[str, float] = field(init=False)
    imputer_: SimpleImputer | KNNImputer | None = field(init=False)
    center_: NDArray[np.float64] = field(init=False)
    scale_: NDArray[np.float64] = field(init=False)

    def _check_params(self, columns: Sequence[str]) -> None:
        self.check_params()
        for rule in self.rules:
            if not isinstance(rule, ValueRule):
                raise InvalidMetadataParameterError(
                    f"rules must be ValueRule objects; got {rule!r}."
                )
            if rule.column not in columns:
                raise MetadataColumnError(
                    f"a rule names column {rule.column!r}, which the reference lacks; "
                    f"its columns are {list(columns)}."
                )

    def _invalid(self, values: dict[str, NDArray[np.float64]]) -> dict[str, NDArray[np.bool_]]:
        """Per column, cells that break a rule."""
        bad = {name: np.zeros(column.shape, dtype=bool) for name, column in values.items()}
        for rule in self.rules:
            bad[rule.column] |= rule.violations(values[rule.column])
        return bad

    def fit(self, reference: MetadataTable) -> Self:
        """Learn clipping bounds and the imputer from a reference table.

        Impossible and missing reference cells are left out of both.

        Args:
            reference: Typical metadata, columns by name.

        Returns:
            The fitted cleaner.

        Raises:
            InvalidMetadataParameterError: If a parameter is out of range.
            MetadataColumnError: If a rule names an absent column, columns have
                unequal lengths, or a column has no valid value.
            MetadataValueError: If a cell is not a number.
        """
        values = _parse_table(reference, None)
        columns = tuple(values)
        self._check_params(columns)
        bad = self._invalid(values)
        valid = {
            name: np.where(bad[name] | ~np.isfinite(v), np.nan, v) for name, v in values.items()
        }
        self.lower_, self.upper_ = {}, {}
        for name, column in valid.items():
            finite = column[np.isfinite(column)]
            if finite.size == 0:
                raise MetadataColumnError(
                    f"column {name!r} has no valid value in the reference; drop the column "
                    "or provide rows where it is known."
                )
            if self.winsorize is None:
                self.lower_[name], self.upper_[name] = -math.inf, math.inf
            else:
                low, high = np.quantile(finite, self.winsorize)
                self.lower_[name], self.upper_[name] = float(low), float(high)
        self.columns_ = columns
        matrix = self._clip_matrix(valid)
        self.imputer_ = self._make_imputer()
        self.center_ = np.zeros(len(columns))
        self.scale_ = np.ones(len(columns))
        if self.impute == "knn":
            # Neighbours are found on standardized columns, so a column in
            # thousands does not drown one in fractions.
            self.center_ = np.nanmean(matrix, axis=0)
            spread = np.nanstd(matrix, axis=0)
            self.scale_ = np.where(spread > 0, spread, 1.0)
        if self.imputer_ is not None:
            self.imputer_.fit(self._scale(matrix))
        return self

    def _scale(self, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
        return (matrix - self.center_) / self.scale_

    def _make_imputer(self) -> SimpleImputer | KNNImputer | None:
        if self.impute is None:
            return None
        if self.impute == "knn":
            return KNNImputer(n_neighbors=self.n_neighbors)
        return SimpleImputer(strategy=self.impute)

    def _clip_matrix(self, values: dict[str, NDArray[np.float64]]) -> NDArray[np.float64]:
        """Columns stacked to ``(n_rows, n_columns)``, clipped to the bounds; NaN stays NaN."""
        return np.column_stack(
            [np.clip(values[name], self.lower_[name], self.upper_[name]) for name in self.columns_]
        )

    def transform(self, table: MetadataTable) -> CleaningResult:
        """Clean a table.

        Args:
            table: Metadata with exactly the reference's columns.

        Returns:
            The cleaned table, the untouched input, and every change.

        Raises:
            MetadataNotFittedError: Before :meth:`fit`.
            MetadataColumnError: If the columns differ from the reference's or
                have unequal lengths.
            MetadataValueError: If a cell is not a number.
        """
        if not hasattr(self, "columns_"):
            raise MetadataNotFittedError("the cleaner is not fitted; call fit(reference) first.")
        original = _parse_table(table, self.columns_)
        bad = self._invalid(original)
        reasons: dict[str, NDArray[np.object_]] = {}
        masked: dict[str, NDArray[np.float64]] = {}
        for name in self.columns_:
            column = original[name]
            reason = np.full(column.shape, None, dtype=object)
            reason[column < self.lower_[name]] = "clipped_low"
            reason[column > self.upper_[name]] = "clipped_high"
            reason[bad[name]] = "impossible"
            reason[~np.isfinite(column)] = "missing"
            reasons[name] = reason
            masked[name] = np.where(bad[name] | ~np.isfinite(column), np.nan, column)
        matrix = self._clip_matrix(masked)
        if self.imputer_ is not None and len(matrix):
            # Only missing cells take imputed values, so the known ones stay bit-exact.
            imputed = (
                np.asarray(self.imputer_.transform(self._scale(matrix)), dtype=np.float64)
                * self.scale_
                + self.center_
            )
            matrix = np.where(np.isnan(matrix), imputed, matrix)
        cleaned = {name: matrix[:, j].copy() for j, name in enumerate(self.columns_)}
        changes = self._changes(original, cleaned, reasons)
        return CleaningResult(self.columns_, original, cleaned, changes)

    def _changes(
        self,
        original: dict[str, NDArray[np.float64]],
        cleaned: dict[str, NDArray[np.float64]],
        reasons: dict[str, NDArray[np.object_]],
    ) -> tuple[MetadataChange, ...]:
        changes = []
        n_rows = len(next(iter(original.values())))
        for row in range(n_rows):
            for name in self.columns_:
                reason = reasons[name][row]
                before, after = float(original[name][row]), float(cleaned[name][row])
                # A missing cell left missing (no imputer) did not change.
                if reason is None or (math.isnan(before) and math.isnan(after)):
                    continue
                changes.append(
                    MetadataChange(row, name, None if math.isnan(before) else before, after, reason)
                )
        return tuple(changes)
