"""What every command shares: the consoles, progress bars, argument types and error handling."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from labelloop.errors import LabelloopError, storage_problem

PIPE_WIDTH = 10_000
"""Columns assumed when output is not a terminal: nothing printed for a script wraps."""


class _Console(Console):
    """A rich console that wraps lines only on a terminal.

    Piped or redirected, rich would assume 80 columns (or ``$COLUMNS``) and
    fold long lines and table cells, so a script reading the output would see
    words split across lines. Off a terminal this console is as wide as any
    line it prints and never soft-wraps.
    """

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.is_terminal:
            return size
        return ConsoleDimensions(PIPE_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


# Markup is off: file names, class names and messages are printed as they are (a
# label "[/x]" would otherwise crash the printing); styled lines ask for it (styled).
console = _Console(soft_wrap=True, markup=False)
err = _Console(stderr=True, soft_wrap=True, markup=False)

F = TypeVar("F", bound=Callable[..., Any])
ProjectDir = Annotated[Path, typer.Argument(help="The project folder.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def styled(markup: str, *values: object) -> Text:
    """``markup`` with each ``{}`` filled by a value printed literally."""
    return Text.from_markup(markup.format(*(escape(str(v)) for v in values)))


def friendly(func: F) -> F:
    """Turn labelloop's own errors into a one-line message and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            for e in exc.errors():
                where = ".".join(str(p) for p in e["loc"]) or "configuration"
                err.print(styled("[red]error:[/red] {}: {}", where, e["msg"]))
            raise typer.Exit(1) from None
        except (LabelloopError, ValueError, LookupError, FileNotFoundError) as exc:
            err.print(styled("[red]error:[/red] {}", exc))
            raise typer.Exit(1) from None
        except Exception as exc:
            problem = storage_problem(exc)
            if problem is None:
                raise
            err.print(
                styled(
                    "[red]error:[/red] {}: free some space (or make it writable) and run the "
                    "command again; everything finished before it is kept",
                    problem,
                )
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def progress_bar() -> Progress:
    """A progress bar on stderr, shown only when stderr is a terminal."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    )


def number(value: float | None) -> str:
    """A metric with three decimals, or a dash when there is none."""
    return "—" if value is None else f"{value:.3f}"


def accuracy(val: dict[str, Any]) -> str:
    """``0.800 (95% CI 0.49-0.94, 10 images)``: a score on few images says how sure it is."""
    low, high = val.get("accuracy_interval") or (None, None)
    interval = "" if low is None else f"95% CI {low:.2f}-{high:.2f}, "
    return f"{val['accuracy']:.3f} ({interval}{val['n']} images)"
