"""Changing a project's settings after ``init``: validated, recorded, with their effect stated.

``labelloop config PROJECT --set key=value`` and ``PATCH /api/project/settings``
both come here. A change is validated by the same pydantic model as a new
project (the merged configuration, whole), refused where it would corrupt
what exists (renaming or removing classes that labels may use, changing the
task), recorded with who made it, when, the old and the new value, and
answered with when it takes effect.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel

from labelloop.config import ProjectConfig
from labelloop.errors import LabelloopError
from labelloop.loop.autolabel import auto_label_estimate
from labelloop.loop.metrics import latest_measured
from labelloop.loop.workspace import Workspace
from labelloop.monitor.registry import SETTING_REGISTRIES

__all__ = [
    "FIXED_SETTINGS",
    "SettingChange",
    "SettingsError",
    "apply_settings",
    "describe_settings",
    "effect_of",
    "parse_assignments",
]

FIXED_SETTINGS = ("name", "task")
"""Settings that never change after ``init``."""

# When each top-level setting (or section) takes effect; the dotted key's first part is looked up.
_EFFECTS: dict[str, str] = {
    "classes": "now for labeling; the next round trains a model with the new classes",
    "strategy": "at the next round (the ranking it makes)",
    "cold_start": "at the next round made without a trusted model",
    "learner": "at the next round, which trains a new model from scratch",
    "calibrate": "at the next round's fit",
    "refit_on_all_labels": "at the next round's fit",
    "batch_size": "at the next round",
    "ranking_size": "at the next round",
    "mc_samples": "at the next round",
    "seed": "at the next round (its random choices)",
    "image_size": "at the next round, which trains a new model from scratch at the new input size",
    "channels": "at the next round, which trains a new model from scratch on the new channels",
    "resize": "at the next round, which re-reads every image (and rescores the pool)",
    "val_fraction": "for items labeled from now on; existing items keep their side",
    "retrain_every": "now (the server counts labels since the last run)",
    "lease_minutes": "for items served from now on",
    "show_prediction": "now, on the next item served",
    "auto_label_threshold": "at the next round (auto labels are written after each round)",
    "auto_label_min_labels": "at the next round",
    "synthesis": "at the next round",
    "detection": "at the next round",
    "monitor": "at the next import, stream window or round that runs the check",
    "scale": "at the next round's pool scoring",
    "backbone": "at the next round, which trains a new model (embed mode: embeddings "
    "of a new backbone, weights or input size are computed once, then cached)",
    "team": "now, at each person's next request",
    "instructions": "now, on the next page anyone opens",
}


class SettingsError(LabelloopError, ValueError):
    """A settings change that is malformed or not allowed; the message says which key and why."""


@dataclass(frozen=True)
class SettingChange:
    """One setting that changed.

    Attributes:
        key: dotted name (``monitor.drift_alpha``).
        old: the value before.
        new: the value after.
        effect: when the change takes effect.
    """

    key: str
    old: Any
    new: Any
    effect: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping."""
        return {"key": self.key, "old": self.old, "new": self.new, "effect": self.effect}


def _effect(ws: Workspace, key: str, value: Any) -> str:
    """When the change takes effect; for the auto-label threshold, what it would do."""
    effect = effect_of(key)
    if key != "auto_label_threshold" or value is None:
        return effect
    latest = latest_measured(ws.store.rounds(ws.project.id), "confidence_histogram")
    if latest is None:
        return effect + "; no trained round yet to estimate what it would label"
    record, histogram = latest
    found = auto_label_estimate(histogram, float(value))
    if found["val_precision"] is None:
        right = "no validation image was that confident"
    else:
        low, high = found["val_precision_interval"]
        right = (
            f"right on {found['val_precision']:.0%} of the {found['val_n']} validation images "
            f"that confident (95% CI {low:.0%}-{high:.0%})"
        )
    return (
        f"{effect}; round {record.number}'s model would auto-label about "
        f"{found['pool_count']} unlabeled items at this threshold, and was {right}"
    )


def effect_of(key: str) -> str:
    """When a change of the dotted setting ``key`` takes effect."""
    return _EFFECTS.get(key.split(".", 1)[0], "at the next round")


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """``["strategy=entropy", "monitor.drift_alpha=0.01"]`` as a mapping of dotted keys to values.

    Values are read as YAML, so ``0.01`` is a number, ``null`` is None,
    ``[224, 224]`` a list and ``a,b`` a string (``classes`` also takes
    ``a,b,c`` as a list).

    Raises:
        SettingsError: an assignment has no ``=`` or an empty key.
    """
    parsed: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SettingsError(f"{assignment!r}: write each setting as key=value")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise SettingsError(f"{key}: {raw!r} is not a value ({exc})") from None
        if key == "classes" and isinstance(value, str):
            value = [c.strip() for c in value.split(",") if c.strip()]
        parsed[key] = value
    return parsed


def _set_dotted(config: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = config
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise SettingsError(f"{key}: {where!r} is not a group of settings")
        node = child
    if parts[-1] not in node:
        known = ", ".join(sorted(node))
        raise SettingsError(f"{key}: no such setting; known here: {known}")
    node[parts[-1]] = value


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key != "metadata_rules":
            flat |= _flatten(value, f"{name}.")
        else:
            flat[name] = value
    return flat


def _check_classes(old: list[str], new: list[str], has_labels: bool) -> None:
    if not has_labels:
        return
    removed = [c for c in old if c not in new]
    if removed:
        raise SettingsError(
            f"classes: {removed} cannot be removed or renamed once labels exist (labels may "
            f"use them); add new classes by listing them after the existing ones: "
            f"{','.join([*old, 'NEW'])}"
        )
    if new[: len(old)] != old:
        raise SettingsError(
            "classes: once labels exist the existing classes keep their order; "
            f"list them first: {','.join(old)}"
        )


def apply_settings(
    ws: Workspace, updates: dict[str, Any], *, who: str, note: str = ""
) -> list[SettingChange]:
    """Validate, store and record a change of settings.

    Args:
        ws: the open project.
        updates: dotted keys and their new values (``{"monitor.drift_alpha": 0.01}``),
            or a nested mapping of sections as the API sends them.
        who: who makes the change, recorded with it.
        note: why, when it is not a person's change.

    Returns:
        The settings that changed (nothing is recorded for a value set to
        what it already was), each with its effect.

    Raises:
        SettingsError: an unknown key, a fixed setting, or a class change that
            would break existing labels.
        pydantic.ValidationError: a value the configuration refuses (the
            error names the key and the allowed values).
    """
    current = ws.config.to_dict()
    merged = yaml.safe_load(yaml.safe_dump(current))  # a deep copy of plain data
    for key, value in _flatten_updates(updates).items():
        root = key.split(".", 1)[0]
        if root in FIXED_SETTINGS and value != current.get(root):
            raise SettingsError(f"{root} cannot change after the project is created")
        _set_dotted(merged, key, value)
    validated = ProjectConfig.model_validate(merged).to_dict()
    has_labels = sum(ws.store.source_counts(ws.project.id).values()) > 0
    _check_classes(list(current["classes"]), list(validated["classes"]), has_labels)
    before, after = _flatten(current), _flatten(validated)
    changes = [
        SettingChange(key, before.get(key), after[key], _effect(ws, key, after[key]))
        for key in after
        if before.get(key) != after[key]
    ]
    if changes:
        ws.store.update_config(
            ws.project.id,
            validated,
            changes=[(c.key, c.old, c.new) for c in changes],
            who=who,
            note=note,
        )
        ws.refresh()
    return changes


def _flatten_updates(updates: dict[str, Any]) -> dict[str, Any]:
    """Nested sections (``{"monitor": {"drift_alpha": 0.01}}``) as dotted keys."""
    flat: dict[str, Any] = {}
    for key, value in updates.items():
        if isinstance(value, dict) and key not in ("metadata_rules",) and "." not in key:
            flat |= {f"{key}.{k}": v for k, v in _flatten_updates(value).items()}
        else:
            flat[key] = value
    return flat


def _documented(model: type[BaseModel]) -> dict[str, str]:
    """``name -> text`` from the ``Attributes:`` section of a model's docstring."""
    doc = inspect.getdoc(model) or ""
    found: dict[str, str] = {}
    if "Attributes:" not in doc:
        return found
    current = None
    for line in doc.split("Attributes:", 1)[1].splitlines():
        entry = re.match(r"^    (\w+): (.*)$", line)
        if entry:
            current = entry.group(1)
            found[current] = entry.group(2).strip()
        elif current and line.startswith("        "):
            found[current] += " " + line.strip()
        elif line.strip() and not line.startswith(" "):
            break
    return found


def _kind(annotation: Any) -> tuple[str, list[Any] | None]:
    """A form widget kind and, for a choice, its choices."""
    origin = get_origin(annotation)
    if origin is Literal:
        return "choice", list(get_args(annotation))
    if origin in (Union, UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            kind, choices = _kind(rest[0])
            return kind, None if choices is None else [*choices, None]
        return "json", None
    if annotation is bool:
        return "bool", None
    if annotation in (int, float):
        return "number", None
    if annotation is str:
        return "text", None
    return "json", None


def _named(task: str, key: str) -> tuple[str, ...] | None:
    """The names a setting that names a plug-in takes, from its registry; None for others."""
    from labelloop.learners.registry import DETECTION_LEARNERS, LEARNERS
    from labelloop.strategies.registry import DETECTION_STRATEGIES, STRATEGIES

    detection = task == "detection"
    if key == "strategy":
        return (DETECTION_STRATEGIES if detection else STRATEGIES).names()
    if key == "learner":
        return (DETECTION_LEARNERS if detection else LEARNERS).names()
    section, _, name = key.partition(".")
    if section == "monitor" and name in SETTING_REGISTRIES:
        return SETTING_REGISTRIES[name].names()
    return None


def describe_settings(config: ProjectConfig) -> list[dict[str, Any]]:
    """Every setting for a settings form: value, default, meaning, bounds, when it applies.

    Returns:
        One mapping per dotted key: ``key``, ``value``, ``default``, ``kind``
        (``number``, ``text``, ``bool``, ``choice`` or ``json``), ``choices``,
        ``nullable`` (None is allowed),
        ``minimum``/``maximum`` where bounded, ``help``, ``effect`` and
        ``fixed`` (cannot change after the project is created).
    """
    out: list[dict[str, Any]] = []

    def walk(model: type[BaseModel], values: dict[str, Any], prefix: str) -> None:
        helps = _documented(model)
        for name, field in model.model_fields.items():
            key = f"{prefix}{name}"
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, values.get(name) or {}, f"{key}.")
                continue
            kind, choices = _kind(annotation)
            named = _named(config.task, key)
            if named is not None:
                kind, choices = "choice", list(named)
            bounds = {
                bound: getattr(m, attr)
                for m in field.metadata
                for attr, bound in (
                    ("ge", "minimum"),
                    ("gt", "minimum"),
                    ("le", "maximum"),
                    ("lt", "maximum"),
                )
                if getattr(m, attr, None) is not None
            }
            default = None if field.is_required() else field.get_default(call_default_factory=True)
            out.append(
                {
                    "key": key,
                    "value": values.get(name),
                    "default": default.model_dump(mode="json")
                    if isinstance(default, BaseModel)
                    else (list(default) if isinstance(default, tuple) else default),
                    "kind": kind,
                    "choices": choices,
                    "nullable": type(None) in get_args(annotation),
                    **bounds,
                    "help": helps.get(name, ""),
                    "effect": effect_of(key),
                    "fixed": key.split(".", 1)[0] in FIXED_SETTINGS,
                }
            )

    walk(ProjectConfig, config.to_dict(), "")
    return out
