"""The shared parameter and registry machinery of every pluggable part."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from labelloop.plugins import (
    Choice,
    Configurable,
    Constraint,
    Flag,
    Integer,
    Number,
    Registry,
    Seed,
)


class _Error(ValueError):
    pass


class _Part(Configurable):
    constraints: ClassVar[dict[str, Constraint]] = {
        "k": Integer(low=1),
        "share": Number(low=0.0, high=1.0, low_open=True),
        "mode": Choice(("fast", "exact")),
        "strict": Flag(),
        "random_state": Seed(),
    }
    parameter_error = _Error

    def __init__(
        self,
        k: Any = 3,
        *,
        share: Any = 0.5,
        mode: str = "fast",
        strict: bool = False,
        random_state: Any = None,
    ) -> None:
        self.k = k
        self.share = share
        self.mode = mode
        self.strict = strict
        self.random_state = random_state


def test_params_come_from_the_signature_and_rebuild_an_equal_part() -> None:
    part = _Part(5, share=0.25)
    params = part.get_params()
    assert list(params) == ["k", "mode", "random_state", "share", "strict"]
    assert _Part(**params).get_params() == params
    assert repr(part) == "_Part(k=5, mode='fast', random_state=None, share=0.25, strict=False)"


@dataclass(eq=False, repr=False, kw_only=True)
class _DataPart(Configurable):
    constraints: ClassVar[dict[str, Constraint]] = {"k": Integer(low=1)}
    parameter_error = _Error
    k: int = 3
    fitted_: float = field(init=False)


@dataclass(eq=False, repr=False, kw_only=True)
class _DataChild(_DataPart):
    share: float = 0.5


def test_dataclass_parts_take_their_fields_as_parameters_and_not_their_state() -> None:
    child = _DataChild(k=4)
    assert child.get_params() == {"k": 4, "share": 0.5}
    assert repr(child) == "_DataChild(k=4, share=0.5)"
    assert not hasattr(child, "fitted_")
    assert child != _DataChild(k=4)  # identity, as for hand-written parts
    with pytest.raises(_Error, match=r"k must be an integer >= 1; got 0\."):
        child.set_params(k=0).check_params()


def test_set_params_sets_known_names_and_names_the_known_ones_otherwise() -> None:
    part = _Part().set_params(k=7, mode="exact")
    assert (part.k, part.mode) == (7, "exact")
    with pytest.raises(_Error, match=r"takes no parameter 'kk'; it takes: k, mode, "):
        part.set_params(kk=1)


def test_check_params_converts_accepted_values() -> None:
    import numpy as np

    checked = _Part(np.int64(4), share=np.float32(0.5), random_state=np.int32(2)).check_params()
    assert checked == {"k": 4, "mode": "fast", "random_state": 2, "share": 0.5, "strict": False}
    assert type(checked["k"]) is int and type(checked["share"]) is float


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"k": 0}, "k must be an integer >= 1; got 0."),
        ({"k": True}, "k must be an integer >= 1; got True."),
        ({"k": 2.0}, "k must be an integer >= 1; got 2.0."),
        ({"share": 0.0}, "share must be a finite number in (0.0, 1.0]; got 0.0."),
        ({"share": math.nan}, "share must be a finite number in (0.0, 1.0]; got nan."),
        ({"share": "0.5"}, "share must be a finite number in (0.0, 1.0]; got '0.5'."),
        ({"mode": "slow"}, "mode must be one of exact, fast; got 'slow'."),
        ({"strict": 1}, "strict must be True or False; got 1."),
        ({"random_state": -1}, "random_state must be an integer >= 0 or None; got -1. Pass a"),
    ],
)
def test_every_refusal_uses_one_template(params: dict[str, object], message: str) -> None:
    with pytest.raises(_Error) as caught:
        _Part().set_params(**params).check_params()
    assert str(caught.value).startswith(message)


def test_integer_ranges_describe_both_ends() -> None:
    assert Integer(low=1, high=9).describe() == "an integer from 1 to 9"
    assert not Integer(low=1, high=9).accepts(10)
    assert Integer(high=0).describe() == "an integer <= 0"
    assert Number(low=0.0, high=1.0, high_open=True, none=True).accepts(None)


def test_registry_imports_its_targets_only_when_asked() -> None:
    registry: Registry[object] = Registry("widget", error=LookupError)
    registry.add("ordered", "collections:OrderedDict", help="keeps order", needs=("keys",))
    registry.add("missing", "labelloop_no_such_module:Thing", help="never imported")
    assert registry.names() == ("missing", "ordered")
    assert "ordered" in registry and len(registry) == 2
    assert registry.help() == {"missing": "never imported", "ordered": "keeps order"}
    assert registry.entry("ordered").needs == frozenset({"keys"})
    assert registry.create("ordered", a=1) == {"a": 1}
    with pytest.raises(ModuleNotFoundError):
        registry.load("missing")
    with pytest.raises(
        LookupError, match=r"unknown widget 'nope'; choose one of: missing, ordered"
    ):
        registry.entry("nope")
    with pytest.raises(LookupError, match="unknown widget"):
        registry.entry(["not", "hashable"])  # type: ignore[arg-type]


def test_registry_refuses_a_name_twice_and_a_target_without_attribute() -> None:
    registry: Registry[object] = Registry("widget")
    registry.add("a", "collections:OrderedDict", help="")
    with pytest.raises(ValueError, match="registered twice"):
        registry.add("a", "collections:deque", help="")
    with pytest.raises(ValueError, match="module:attribute"):
        registry.add("b", "collections.deque", help="")


def _install_plugin_package(root: Path, entry_points: str) -> None:
    """A real installed distribution (dist-info on sys.path) declaring entry points."""
    (root / "widgets_plugin.py").write_text("class Fancy(dict):\n    pass\n")
    info = root / "widgets_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: widgets-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


def test_installed_packages_add_plugins_through_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin_package(
        tmp_path,
        "[labelloop.test_widgets]\n"
        "fancy = widgets_plugin:Fancy\n"
        "ordered = widgets_plugin:Fancy\n"
        "broken = widgets_plugin.Fancy\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: Registry[object] = Registry("widget", group="labelloop.test_widgets")
    registry.add("ordered", "collections:OrderedDict", help="built in")
    with pytest.warns(UserWarning) as caught:
        names = registry.names()
    assert names == ("fancy", "ordered")
    messages = " ".join(str(w.message) for w in caught)
    assert "already has; the built-in one is kept" in messages
    assert "not 'module:attribute'; it is skipped" in messages
    assert registry.help()["fancy"] == "plug-in from widgets-plugin"
    made = registry.create("fancy", a=1)
    assert type(made).__name__ == "Fancy" and made == {"a": 1}
    assert type(registry.create("ordered")).__name__ == "OrderedDict"


def test_a_registry_without_a_group_looks_for_no_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin_package(tmp_path, "[labelloop.test_widgets]\nfancy = widgets_plugin:Fancy\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: Registry[object] = Registry("widget")
    assert registry.names() == ()
