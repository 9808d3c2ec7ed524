"""Lazy package exports: a package names what it exports, and imports each on first use.

``labelloop --help`` and ``labelloop status`` must not pay for torch: a
package whose ``__init__`` imported every module would load it on any import
of the package. Packages list their exports here instead; the type checker
reads the real imports under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` that import ``exports[name]`` on first access.

    Args:
        package: the package's ``__name__``.
        exports: exported name -> the module (absolute name) that defines it.

    Returns:
        ``(__getattr__, __dir__)`` to assign at the package's top level.
    """

    def get_attr(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def list_names() -> list[str]:
        return sorted(exports)

    return get_attr, list_names
