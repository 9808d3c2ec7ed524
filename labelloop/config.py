"""The one configuration object of a project, validated with pydantic.

It is stored in the database with the project and prints as YAML, so what a
team sees is exactly what the loop runs with.
"""

from __future__ import annotations

from typing import Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from labelloop.data.labels import LabelSchema, TaskType
from labelloop.learners.registry import (
    BACKBONE_LEARNER_NAMES,
    DETECTION_LEARNERS,
    HUB_LEARNER_NAMES,
    LEARNERS,
)
from labelloop.monitor.registry import SETTING_REGISTRIES
from labelloop.strategies.registry import DETECTION_STRATEGIES, STRATEGIES
from labelloop.synthesis.config import SynthesisConfig

__all__ = [
    "MAX_IMAGE_SIDE",
    "DetectionConfig",
    "MonitorConfig",
    "ProjectConfig",
    "ScaleConfig",
    "TeamConfig",
]

MAX_IMAGE_SIDE = 1024
"""Largest model input side: a 1024x1024 RGB batch of 64 is already 800 MB of float32."""

# What a detection project runs with when its configuration names no strategy
# or learner: per-box entropy summed per image (Brust et al. 2019 found the
# sum the best aggregation) and the small FCOS that trains on a CPU.
_DETECTION_DEFAULTS = {"strategy": "entropy_sum", "learner": "fcos_tiny", "resize": "letterbox"}


class TeamConfig(BaseModel):
    """What annotators may see and take beyond their own work (reviewers and admins see all).

    Attributes:
        annotators_export: annotators may download labels and images (exports).
        annotators_see_everyone: annotators see every person's counts and
            speed on the dashboard, not only their own.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    annotators_export: bool = False
    annotators_see_everyone: bool = False


class MonitorConfig(BaseModel):
    """How the monitor watches a project: stopping, drift, outliers, label errors.

    Attributes:
        stop_set_size: pool images whose predictions are compared round to
            round (stabilizing predictions); drawn once, with the project's seed.
        kappa_threshold: mean Cohen's kappa between successive models on the
            stop set, over ``kappa_window`` rounds, at which predictions count as stable.
        kappa_window: rounds the kappa is averaged over.
        min_gain_per_100: validation-accuracy gain per 100 labels below which
            the validation curve counts as flat.
        uncertainty_threshold: mean pool uncertainty (1 - top probability)
            below which the pool counts as learned.
        drift_test: two-sample test run on each import batch and stream window
            (a name of ``labelloop.monitor.registry.DRIFT_TESTS``).
        drift_alpha: its significance level.
        drift_upweight: how much the next round favours images from a drifted
            batch (0 switches it off; 1 doubles a drifted image's score at most).
        concept_detector: detector run on the stream of the model's errors
            (a name of ``CONCEPT_DETECTORS``).
        drift_min_batch: a batch (or stream window) smaller than this is not
            tested for drift: a two-sample test on a few images has little
            power and its alerts are mostly noise. The report says so.
        outlier_detector: detector run on each import batch (a name of
            ``OUTLIER_DETECTORS``).
        outlier_rate: the share of ordinary images the outlier detector may
            flag: its threshold is the reference's ``1 - outlier_rate``
            quantile (``bench/drift.py`` measures the false-positive rate).
        outlier_policy: what happens to an outlier: ``review_first`` (put up
            for a person, interleaved into the model's ranking: at most one in
            ``1 / outlier_review_share`` places, most outlying first),
            ``exclude`` (never selected) or ``keep``.
        outlier_review_share: with ``review_first``, the largest share of the
            ranking's head that outliers may take.
        label_error_folds: cross-validation folds for out-of-sample probabilities.
        metadata_rules: per numeric metadata column, the lowest and highest
            possible values (None for no bound); values outside are errors.
        winsorize: quantiles of the reference data that metadata values are
            clipped to; None switches clipping off.
        impute: how missing or erroneous metadata values are filled.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    stop_set_size: int = Field(default=500, ge=10)
    kappa_threshold: float = Field(default=0.99, gt=0.0, le=1.0)
    kappa_window: int = Field(default=3, ge=1)
    min_gain_per_100: float = Field(default=0.005, ge=0.0)
    uncertainty_threshold: float = Field(default=0.05, gt=0.0, lt=1.0)
    drift_test: str = "mmd"
    drift_alpha: float = Field(default=0.05, gt=0.0, lt=1.0)
    drift_upweight: float = Field(default=0.0, ge=0.0)
    concept_detector: str = "adwin"
    drift_min_batch: int = Field(default=50, ge=2)
    outlier_detector: str = "knn"
    outlier_rate: float = Field(default=0.01, gt=0.0, lt=0.5)
    outlier_policy: Literal["review_first", "exclude", "keep"] = "review_first"
    outlier_review_share: float = Field(default=0.1, gt=0.0, le=1.0)
    label_error_folds: int = Field(default=5, ge=2, le=20)
    metadata_rules: dict[str, tuple[float | None, float | None]] = Field(default_factory=dict)
    winsorize: tuple[float, float] | None = (0.01, 0.99)
    impute: Literal["median", "mean", "knn"] = "median"

    @field_validator(*SETTING_REGISTRIES)
    @classmethod
    def _registered(cls, value: str, info: ValidationInfo) -> str:
        """A detector's name, as its registry has it (the error lists the names there are)."""
        SETTING_REGISTRIES[info.field_name or ""].entry(value)
        return value

    @field_validator("winsorize")
    @classmethod
    def _ordered_quantiles(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not 0.0 <= value[0] < value[1] <= 1.0:
            raise ValueError(f"winsorize needs two quantiles 0 <= low < high <= 1, got {value}")
        return value


class DetectionConfig(BaseModel):
    """Settings only detection projects use.

    Attributes:
        min_score: boxes the model scores below this are not detections: not
            proposed to annotators, not auto-labeled, not counted by strategies.
        epochs: training epochs per round (warm-started from the last round).
        min_steps: fewest optimiser steps per round; a round on few images
            runs more epochs to reach it (0 trusts ``epochs`` alone).
        empty_policy: the score an image with no detection above ``min_score``
            gets from uncertainty strategies: ``mean`` of the pool (default:
            an early model finds nothing in most images, and ``max`` would fill
            whole batches with them), ``max`` (look at them first) or ``zero``.
        proposal_iou: proposals overlapping by more than this are one object,
            shown once with the class distribution of all of them
            (class-agnostic non-maximum suppression; 1.0 shows every box).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_score: float = Field(default=0.3, gt=0.0, lt=1.0)
    epochs: int = Field(default=20, ge=1, le=10_000)
    min_steps: int = Field(default=160, ge=0, le=100_000)
    empty_policy: Literal["max", "zero", "mean"] = "mean"
    proposal_iou: float = Field(default=0.6, gt=0.0, le=1.0)


class ScaleConfig(BaseModel):
    """Where a round's pool scoring runs.

    Attributes:
        executor: ``local`` (this machine, images streamed in chunks) or
            ``ray`` (a Ray cluster: ``pip install labelloop[ray]``).
        address: for ``ray``: None starts a local Ray, ``auto`` joins the
            running cluster, ``ray://host:10001`` a remote one.
        workers: for ``local``: processes decoding images (0: in the round's own).
        chunk_size: images decoded and scored together.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    executor: Literal["local", "ray"] = "local"
    address: str | None = None
    workers: int = Field(default=0, ge=0, le=64)
    chunk_size: int = Field(default=256, ge=1, le=65_536)


class BackboneConfig(BaseModel):
    """How a pretrained backbone learner (``resnet18``, ``resnet50``, ``efficientnet_b0``,
    ``convnext_tiny``, ``vit_b_16``; ``timm`` and ``open_clip`` from extras) is used.

    Attributes:
        model: the network of ``timm`` (a timm model name, e.g.
            ``convnext_tiny`` or ``resnet50.a1_in1k``) and ``open_clip`` (an
            architecture, e.g. ``ViT-B-32``); None for their defaults
            (``resnet18.a1_in1k``, ``ViT-B-32``). Other learners take none.
        weights: ``none`` (random initialisation), ``imagenet`` (torchvision's
            weights, from the torch cache: ``$TORCH_HOME/hub/checkpoints``;
            for ``timm`` and ``open_clip`` the model's default pretrained
            weights, from the Hugging Face cache: ``$HF_HOME/hub``), a
            pretrained tag of ``timm`` or ``open_clip`` (``a1_in1k``,
            ``openai``) or the path of a state-dict file (e.g. from
            ``labelloop pretrain``).
        mode: ``finetune`` trains the whole network each round (warm-started);
            ``embed`` freezes it, caches each image's embedding on disk once,
            and trains only a head each round (seconds).
        input_size: the side images are resized to for the backbone (224 is
            what ImageNet weights expect; 112 is about 4x faster on a CPU).
        head: ``embed`` mode's head: ``logreg`` or ``mlp``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
    )
    weights: str = Field(default="none", min_length=1, max_length=1000)
    mode: Literal["finetune", "embed"] = "finetune"
    input_size: int = Field(default=224, ge=32, le=1024)
    head: Literal["logreg", "mlp", "mlp_dropout"] = "logreg"

    def check_learner(self, learner: str) -> None:
        """Check that ``learner`` takes these settings: only ``timm`` and ``open_clip`` a model.

        Raises:
            ValueError: If ``model`` is set for another learner.
        """
        if self.model is not None and learner not in HUB_LEARNER_NAMES:
            raise ValueError(
                f"backbone.model ({self.model!r}) names the network of the "
                f"{' and '.join(HUB_LEARNER_NAMES)} learners; learner {learner!r} takes none: "
                "remove it, or set learner to one of them"
            )


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
        image_size: ``(height, width)`` of the model's input. None until
            the first import decides it from the images: their common size
            when they all share one of at most 128 px a side (the digits
            demo: 8x8), else 64x64; for detection, their common size up to
            512 px a side, else a square of their median longer side (at most
            512). Each side at most 1024.
        channels: 1 for grayscale input, 3 for RGB. None until the first
            import decides it: 3 when any image is in colour, else 1.
        resize: how an image of another shape is brought to ``image_size``:
            ``center_crop`` (scale to cover, cut the overhang equally from
            both ends; the classification default), ``letterbox`` (scale to
            fit, pad with black; the detection default, which keeps every
            box) or ``stretch`` (change the aspect ratio). Images are turned
            upright by their EXIF orientation first. Detection boxes are
            stored in the image's own pixels whatever the policy.
        scale: where pool scoring runs (:class:`ScaleConfig`).
        team: what annotators may see and take (:class:`TeamConfig`): by
            default no exports and only their own statistics.
        instructions: the labeling guideline, Markdown, shown on the label
            and review pages (``labelloop instructions PROJECT FILE.md``).
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
        refit_on_all_labels: after a round's fit is validated on the held-out
            fifth of the labels, train the model again on every label for the
            epochs validation chose; the refitted model ranks and auto-labels,
            the metrics stay those of the held-out fit. Off: the validation
            side never trains the model (the behaviour before 0.2).
        backbone: weights, mode (finetune or embed), input size and head of a
            pretrained backbone learner (:class:`BackboneConfig`).
        calibrate: fit a temperature on the validation split after each
            round's fit (torch learners); rounds record validation ECE before
            and after either way.
        cold_start: how the first batch is chosen before any label exists:
            ``random``, or ``typiclust``/``probcover``/``coreset`` on the
            images' pixels (on the backbone's embeddings in ``embed`` mode).
        mc_samples: stochastic passes (MC dropout) or ensemble members drawn
            for strategies that look at sampled predictions (BALD, committees).
        show_prediction: when the labeling view shows the model's guess:
            ``prefill`` (before answering), ``after`` (once answered) or ``never``.
            Detection projects show proposed boxes while labeling unless ``never``:
            accepting and correcting them is the point of them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, pattern=r"^[^/\\]+$")
    task: TaskType = "classification"
    classes: tuple[str, ...]
    strategy: str = "margin"
    learner: str = "cnn"
    batch_size: int = Field(default=10, ge=1, le=100_000)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    val_fraction: float = Field(default=0.2, gt=0.0, lt=0.5)
    image_size: tuple[int, int] | None = None
    channels: Literal[1, 3] | None = None
    resize: Literal["center_crop", "letterbox", "stretch"] = "center_crop"
    ranking_size: int = Field(default=5000, ge=1)
    retrain_every: int = Field(default=20, ge=1)
    lease_minutes: float = Field(default=10.0, gt=0.0, le=24 * 60)
    auto_label_threshold: float | None = Field(default=0.98, gt=0.0, le=1.0)
    auto_label_min_labels: int = Field(default=100, ge=1)
    show_prediction: Literal["prefill", "after", "never"] = "after"
    mc_samples: int = Field(default=20, ge=2, le=1000)
    cold_start: Literal["random", "typiclust", "coreset", "probcover"] = "random"
    calibrate: bool = False
    refit_on_all_labels: bool = True
    backbone: BackboneConfig = BackboneConfig()
    synthesis: SynthesisConfig = SynthesisConfig()
    monitor: MonitorConfig = MonitorConfig()
    detection: DetectionConfig = DetectionConfig()
    scale: ScaleConfig = ScaleConfig()
    team: TeamConfig = TeamConfig()
    instructions: str = Field(default="", max_length=20_000)

    @model_validator(mode="before")
    @classmethod
    def _task_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("task") == "detection":
            return {**_DETECTION_DEFAULTS, **data}
        return data

    @model_validator(mode="after")
    def _known_names(self) -> Self:
        strategies, learners = _names_for(self.task)
        if self.strategy not in strategies:
            raise ValueError(
                f"unknown strategy {self.strategy!r} for {self.task}; "
                f"choose one of {list(strategies)}"
            )
        if self.learner not in learners:
            raise ValueError(
                f"unknown learner {self.learner!r} for {self.task}; choose one of {list(learners)}"
            )
        self.backbone.check_learner(self.learner)
        uses_backbone = self.backbone.weights != "none" or self.backbone.mode == "embed"
        if uses_backbone and self.learner not in BACKBONE_LEARNER_NAMES:
            raise ValueError(
                f"backbone weights and embed mode need a backbone learner "
                f"({', '.join(BACKBONE_LEARNER_NAMES)}), not {self.learner!r}"
            )
        return self

    @field_validator("image_size")
    @classmethod
    def _positive_size(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and not (min(value) >= 1 and max(value) <= MAX_IMAGE_SIDE):
            raise ValueError(
                f"image_size must be two integers from 1 to {MAX_IMAGE_SIDE} "
                f"(height, width), got {list(value)}"
            )
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


def _names_for(task: TaskType) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The strategy and learner names a task accepts."""
    if task == "classification":
        return STRATEGIES.names(), LEARNERS.names()
    return DETECTION_STRATEGIES.names(), DETECTION_LEARNERS.names()
