"""The one configuration object of a project, validated with pydantic.

It is stored in the database with the project and prints as YAML, so what a
team sees is exactly what the loop runs with.
"""

from __future__ import annotations

from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from labelloop.data.labels import LabelSchema, TaskType
from labelloop.learners import LEARNER_NAMES
from labelloop.strategies import STRATEGY_NAMES
from labelloop.synthesis import SynthesisConfig

__all__ = ["ProjectConfig"]


class ProjectConfig(BaseModel):
    """Everything that decides how one project's loop runs.

    Attributes:
        name: the project's name, unique in its database.
        task: ``classification`` (one class per image) or ``detection`` (boxes).
        classes: the allowed class names, in display order.
        strategy: the pool strategy that ranks unlabeled items.
        learner: the model family trained each round.
        batch_size: items queued per round.
        seed: seed of every random choice the loop makes.
        val_fraction: share of labeled items held out for validation, per class.
        image_size: ``(height, width)`` images are resized to for the model;
            None keeps their size (then all images must share one).
        channels: 1 for grayscale input, 3 for RGB.
        ranking_size: how many unlabeled items each round ranks for the queue
            (at least ``batch_size``); items beyond it are served oldest first.
        retrain_every: human labels after which the server retrains on its own.
        lease_minutes: how long an item served to an annotator stays theirs.
        auto_label_threshold: model confidence at or above which a prediction
            becomes an auto label for review; None switches auto-labeling off.
        auto_label_min_labels: auto-labeling waits until the model trained on
            at least this many labels.
        synthesis: membership-query synthesis: augmented variants of pool
            images the model is unsure of become queued items (off by default;
            on digits it did not beat plain margin sampling at equal labels).
        calibrate: fit a temperature on the validation split after each
            round's fit (torch learners); rounds record validation ECE before
            and after either way.
        cold_start: how the first batch is chosen before any label exists:
            ``random``, or ``typiclust``/``coreset`` on the images' pixels.
        mc_samples: stochastic passes (MC dropout) or ensemble members drawn
            for strategies that look at sampled predictions (BALD, committees).
        show_prediction: when the labeling view shows the model's guess:
            ``prefill`` (before answering), ``after`` (once answered) or ``never``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, pattern=r"^[^/\\]+$")
    task: TaskType = "classification"
    classes: tuple[str, ...]
    strategy: str = "margin"
    learner: str = "cnn"
    batch_size: int = Field(default=10, ge=1, le=100_000)
    seed: int = 0
    val_fraction: float = Field(default=0.2, gt=0.0, lt=0.5)
    image_size: tuple[int, int] | None = None
    channels: Literal[1, 3] = 1
    ranking_size: int = Field(default=5000, ge=1)
    retrain_every: int = Field(default=20, ge=1)
    lease_minutes: float = Field(default=10.0, gt=0.0, le=24 * 60)
    auto_label_threshold: float | None = Field(default=0.98, gt=0.0, le=1.0)
    auto_label_min_labels: int = Field(default=100, ge=1)
    show_prediction: Literal["prefill", "after", "never"] = "after"
    mc_samples: int = Field(default=20, ge=2, le=1000)
    cold_start: Literal["random", "typiclust", "coreset"] = "random"
    calibrate: bool = False
    synthesis: SynthesisConfig = SynthesisConfig()

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in STRATEGY_NAMES:
            raise ValueError(f"unknown strategy {value!r}; choose one of {list(STRATEGY_NAMES)}")
        return value

    @field_validator("learner")
    @classmethod
    def _known_learner(cls, value: str) -> str:
        if value not in LEARNER_NAMES:
            raise ValueError(f"unknown learner {value!r}; choose one of {list(LEARNER_NAMES)}")
        return value

    @field_validator("image_size")
    @classmethod
    def _positive_size(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and min(value) < 1:
            raise ValueError(f"image_size must be two positive integers, got {value}")
        return value

    @model_validator(mode="after")
    def _valid_classes(self) -> Self:
        self.label_schema()
        return self

    def label_schema(self) -> LabelSchema:
        """The schema label values of this project are checked against."""
        return LabelSchema(task=self.task, classes=self.classes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping, as stored in the database."""
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        """The configuration as YAML text."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> ProjectConfig:
        """Parse and validate YAML text."""
        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ValueError("a project configuration must be a YAML mapping of settings")
        return cls.model_validate(data)
