"""The shared machinery of every pluggable part: parameters and registries.

Strategies, stream selectors, detection strategies, learners and monitor
detectors are all *configurable*: following scikit-learn, a constructor only
stores its arguments; :class:`Configurable` reads them back from the
signature (:meth:`~Configurable.get_params`, :meth:`~Configurable.set_params`,
``repr``), and :meth:`~Configurable.check_params` checks them against the
class's declared :data:`~Configurable.constraints` in one place, with one
message template: ``"<name> must be <what>; got <value>."``

A :class:`Registry` maps the names that settings files and the CLI use to the
classes or factories that build the parts. Its entries name their target as
``"module:attribute"`` and import it on first use, so reading the names (the
CLI's help, settings validation, the docs) costs no torch import.

This module imports nothing of labelloop but :mod:`labelloop.errors`.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
import math
import sys
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any, ClassVar, Generic, TypeVar

from labelloop.errors import LabelloopError

__all__ = [
    "Choice",
    "Configurable",
    "Constraint",
    "Entry",
    "Flag",
    "Integer",
    "Number",
    "Registry",
    "Seed",
]

T = TypeVar("T")


class Constraint(ABC):
    """What one parameter may be; :meth:`check` returns the value in its plain type."""

    hint: str = ""

    @abstractmethod
    def accepts(self, value: object) -> bool:
        """Whether ``value`` is allowed."""

    @abstractmethod
    def describe(self) -> str:
        """The allowed values in words, e.g. ``"an integer >= 1"``."""

    def convert(self, value: object) -> Any:
        """``value`` (already accepted) in its plain Python type."""
        return value

    def check(self, name: str, value: object, error: type[Exception]) -> Any:
        """``value`` converted if allowed; else raise ``error`` in the shared template.

        Raises:
            error: ``"<name> must be <describe()>; got <value!r>. <hint>"``.
        """
        if not self.accepts(value):
            hint = f" {self.hint}" if self.hint else ""
            raise error(f"{name} must be {self.describe()}; got {value!r}.{hint}")
        return self.convert(value)


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class Integer(Constraint):
    """An integer in ``[low, high]`` (either end may be open-ended), or None if allowed."""

    low: int | None = None
    high: int | None = None
    none: bool = False
    hint: str = ""

    def accepts(self, value: object) -> bool:
        if value is None:
            return self.none
        if not _is_int(value):
            return False
        number = int(value)  # type: ignore[call-overload]
        return (self.low is None or number >= self.low) and (
            self.high is None or number <= self.high
        )

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            words = f"an integer from {self.low} to {self.high}"
        elif self.low is not None:
            words = f"an integer >= {self.low}"
        elif self.high is not None:
            words = f"an integer <= {self.high}"
        else:
            words = "an integer"
        return f"{words} or None" if self.none else words

    def convert(self, value: object) -> int | None:
        return None if value is None else int(value)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Number(Constraint):
    """A finite real number in an interval whose ends may be open, or None if allowed."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    none: bool = False
    hint: str = ""

    def accepts(self, value: object) -> bool:
        if value is None:
            return self.none
        if not _is_real(value):
            return False
        number = float(value)  # type: ignore[arg-type]
        if not math.isfinite(number):
            return False
        above = number > self.low if self.low_open else number >= self.low
        below = number < self.high if self.high_open else number <= self.high
        return above and below

    def describe(self) -> str:
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        interval = f"{left}{self.low}, {self.high}{right}"
        words = f"a finite number in {interval}"
        return f"{words} or None" if self.none else words

    def convert(self, value: object) -> float | None:
        return None if value is None else float(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Choice(Constraint):
    """One of a fixed set of strings."""

    choices: tuple[str, ...] = ()
    hint: str = ""

    def accepts(self, value: object) -> bool:
        return isinstance(value, str) and value in self.choices

    def describe(self) -> str:
        return f"one of {', '.join(sorted(self.choices))}"


@dataclass(frozen=True)
class Flag(Constraint):
    """True or False (not 0 or 1)."""

    hint: str = ""

    def accepts(self, value: object) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "True or False"


def Seed(hint: str = "Pass a seed such as random_state=0 for reproducible results.") -> Integer:  # noqa: N802
    """The constraint of a ``random_state``: None or an integer >= 0."""
    return Integer(low=0, none=True, hint=hint)


class Configurable:
    """Parameters read from the constructor's signature, checked against ``constraints``.

    Subclasses store each constructor argument under its own name, declare
    :data:`constraints` for those that have a range, and set
    :data:`parameter_error` to their package's error class. Constructors never
    check: :meth:`check_params` does, when the part is first used, so
    ``set_params`` and ``clone`` work the scikit-learn way.

    The parts declare their parameters as dataclass fields, so that each is
    written once (name, type, default) and the constructor is generated::

        @dataclass(eq=False, repr=False, kw_only=True)
        class Smallest(PoolStrategy):
            k: int = 10
            fitted_: float = field(init=False)  # state set by use, not a parameter

    ``eq=False`` keeps identity equality (two strategies with the same
    parameters are still two objects), ``repr=False`` keeps this class's
    ``repr``; subclasses inherit their base's fields.
    """

    constraints: ClassVar[Mapping[str, Constraint]] = {}
    """Parameter name -> what it may be; parameters not listed are not checked."""

    parameter_error: ClassVar[type[Exception]] = ValueError
    """The error :meth:`check_params` and :meth:`set_params` raise."""

    @classmethod
    def _param_names(cls) -> tuple[str, ...]:
        """The constructor's named parameters, sorted."""
        signature = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        return tuple(
            sorted(
                name
                for name, parameter in signature.parameters.items()
                if name != "self" and parameter.kind in kinds
            )
        )

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters as stored, sorted by name.

        ``type(self)(**self.get_params())`` builds an equal object.
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Any:
        """Set parameters by name and return ``self``; nothing is checked until use.

        Raises:
            parameter_error: If the class takes no parameter of a given name.
        """
        names = self._param_names()
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise self.parameter_error(
                f"{type(self).__name__} takes no parameter {', '.join(map(repr, unknown))}; "
                f"it takes: {', '.join(names) or 'none'}."
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def check_params(self) -> dict[str, Any]:
        """Every constrained parameter, checked and in its plain type.

        Raises:
            parameter_error: For the first parameter (by name) outside its constraint.
        """
        return {
            name: constraint.check(name, getattr(self, name), self.parameter_error)
            for name, constraint in sorted(self.constraints.items())
        }

    def __repr__(self) -> str:
        """The class and its parameters, e.g. ``CoreSet(metric='euclidean')``."""
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({args})"


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered plug-in: its name, where it lives, and what it needs."""

    name: str
    target: str
    """``"module:attribute"``: a class or a factory returning ``T``."""
    help: str
    needs: frozenset[str] = field(default_factory=frozenset)
    """Inputs the plug-in requires, e.g. ``{"samples"}`` or ``{"embeddings"}``."""

    def load(self) -> Callable[..., T]:
        """Import and return the class or factory."""
        module, _, attribute = self.target.partition(":")
        factory: Callable[..., T] = getattr(importlib.import_module(module), attribute)
        return factory


@functools.lru_cache(maxsize=4)
def _installed_entry_points(path: tuple[str, ...]) -> tuple[importlib.metadata.EntryPoint, ...]:
    """Every installed package's entry points, read once per ``sys.path``.

    The registries of one process share a single scan of the installed
    packages; a changed ``sys.path`` (a package added at run time) reads anew.
    """
    found = importlib.metadata.entry_points()
    return tuple(point for group in found.groups for point in found.select(group=group))


class UnknownNameError(LabelloopError, LookupError):
    """A registry has no entry of the name asked for (when the registry names no error)."""


class Registry(Generic[T]):
    """Names -> plug-ins of one kind (strategies, learners, detectors, formats, ...).

    With an entry-point ``group``, plug-ins from other installed packages join
    on first use: a package that declares, in its ``pyproject.toml``,

    .. code-block:: toml

        [project.entry-points."labelloop.strategies"]
        my_strategy = "my_package.strategies:MyStrategy"

    makes ``strategy: my_strategy`` a valid setting without touching
    labelloop. Built-in names win: a plug-in that takes one is skipped with a
    warning.

    Example:
        >>> shapes: Registry[object] = Registry("shape")
        >>> shapes.add("dict", "builtins:dict", help="a plain dict")
        >>> shapes.names()
        ('dict',)
        >>> shapes.create("dict", a=1)
        {'a': 1}
    """

    def __init__(
        self,
        kind: str,
        *,
        error: type[Exception] = UnknownNameError,
        group: str | None = None,
    ) -> None:
        self.kind = kind
        self.error = error
        self.group = group
        self._entries: dict[str, Entry[T]] = {}
        self._discovered = group is None

    def add(self, name: str, target: str, *, help: str, needs: tuple[str, ...] = ()) -> None:
        """Register ``target`` (``"module:attribute"``) under ``name``.

        Raises:
            ValueError: If ``name`` is taken or ``target`` is not ``module:attribute``.
        """
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        if target.count(":") != 1:
            raise ValueError(f"{self.kind} {name!r}: target must be 'module:attribute'")
        self._entries[name] = Entry(name, target, help, frozenset(needs))

    @property
    def _all(self) -> dict[str, Entry[T]]:
        """The entries, with the installed packages' plug-ins found on first use."""
        if not self._discovered:
            self._discovered = True
            installed = _installed_entry_points(tuple(sys.path))
            for point in (p for p in installed if p.group == self.group):
                source = point.dist.name if point.dist is not None else "an installed package"
                if point.name in self._entries:
                    warnings.warn(
                        f"{source} offers a {self.kind} named {point.name!r}, which labelloop "
                        "already has; the built-in one is kept.",
                        stacklevel=3,
                    )
                    continue
                target = point.value.replace(" ", "")
                if target.count(":") != 1:
                    warnings.warn(
                        f"{source}: {self.kind} plug-in {point.name!r} names {point.value!r}, "
                        "not 'module:attribute'; it is skipped.",
                        stacklevel=3,
                    )
                    continue
                self._entries[point.name] = Entry(point.name, target, f"plug-in from {source}")
        return self._entries

    def names(self) -> tuple[str, ...]:
        """Every registered name, sorted."""
        return tuple(sorted(self._all))

    def __contains__(self, name: object) -> bool:
        return name in self._all

    def __iter__(self) -> Iterator[Entry[T]]:
        entries = self._all
        return iter(entries[name] for name in self.names())

    def __len__(self) -> int:
        return len(self._all)

    def entry(self, name: str) -> Entry[T]:
        """The entry under ``name``.

        Raises:
            error: If none is, listing the names there are.
        """
        try:
            return self._all[name]
        except (KeyError, TypeError):
            raise self.error(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}."
            ) from None

    def load(self, name: str) -> Callable[..., T]:
        """The class or factory under ``name``, imported."""
        return self.entry(name).load()

    def create(self, name: str, /, **params: Any) -> T:
        """Build the plug-in under ``name`` with ``params``."""
        return self.load(name)(**params)

    def help(self) -> dict[str, str]:
        """Name -> one line of help, sorted by name (for the CLI and the docs)."""
        return {entry.name: entry.help for entry in self}
