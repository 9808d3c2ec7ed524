"""The learners a project can name, readable without importing torch or scikit-learn.

:data:`LEARNERS` holds the classifiers, :data:`DETECTION_LEARNERS` the
object detectors. Each entry names its factory as ``"module:attribute"`` and
imports it on first use, so the CLI's help, settings validation and the docs
read the names, the help and the needs for free.

A classification factory takes one
:class:`~labelloop.learners.factory.LearnerSpec`; a detection factory takes
the :class:`~labelloop.learners.detection.TorchDetector` arguments. An entry
that ``needs`` ``"backbone"`` reads the project's ``backbone`` settings
(weights, mode, input size, head; model for ``timm`` and ``open_clip``).

To add a learner, write its factory and add one line here; the contract
suite (``tests/learners/test_contract.py``) runs it through every check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labelloop.learners.errors import UnknownLearnerError
from labelloop.learners.hub_backbones import DEFAULT_MODELS
from labelloop.plugins import Registry

if TYPE_CHECKING:
    from labelloop.learners.base import Learner
    from labelloop.learners.detection.model import TorchDetector

__all__ = [
    "BACKBONE_LEARNER_NAMES",
    "DETECTION_LEARNERS",
    "HUB_LEARNER_NAMES",
    "LEARNERS",
    "LEARNER_NAMES",
]

_FACTORY = "labelloop.learners.factory"
_DETECTION = "labelloop.learners.detection.factory"

LEARNERS: Registry[Learner] = Registry(
    "learner", error=UnknownLearnerError, group="labelloop.learners"
)
"""Classification learners by name; :func:`~labelloop.learners.make_learner` builds them."""

LEARNERS.add("cnn", f"{_FACTORY}:cnn", help="small CNN from scratch; MC dropout samples")
LEARNERS.add(
    "cnn_ensemble", f"{_FACTORY}:cnn_ensemble", help="deep ensemble of 5 small CNNs (5x the cost)"
)
LEARNERS.add("logreg", f"{_FACTORY}:logreg", help="logistic regression on the pixels")
LEARNERS.add(
    "logreg_bagging",
    f"{_FACTORY}:logreg_bagging",
    help="logistic regression plus 10 bootstrap clones for samples",
)
for _name, _help in (
    ("convnext_tiny", "torchvision ConvNeXt-Tiny backbone, fine-tuned or embed mode"),
    ("efficientnet_b0", "torchvision EfficientNet-B0 backbone, fine-tuned or embed mode"),
    ("resnet18", "ResNet-18: small-image from scratch, or a torchvision backbone with weights"),
    ("resnet50", "torchvision ResNet-50 backbone, fine-tuned or embed mode"),
    ("vit_b_16", "torchvision ViT-B/16 backbone, fine-tuned or embed mode"),
):
    LEARNERS.add(_name, f"{_FACTORY}:backbone", help=_help, needs=("backbone",))
# Optional extras; backbone.model names the network (labelloop.learners.hub_backbones).
LEARNERS.add(
    "open_clip",
    "labelloop.learners.hub_backbones:open_clip_learner",
    help="CLIP image tower (backbone.model, default ViT-B-32); pip install 'labelloop[open_clip]'",
    needs=("backbone",),
)
LEARNERS.add(
    "timm",
    "labelloop.learners.hub_backbones:timm_learner",
    help="timm model (backbone.model, default resnet18.a1_in1k); pip install 'labelloop[timm]'",
    needs=("backbone",),
)

DETECTION_LEARNERS: Registry[TorchDetector] = Registry(
    "detection learner", error=UnknownLearnerError, group="labelloop.detection_learners"
)
"""Object detectors by name; :func:`~labelloop.learners.detection.make_detector` builds them."""

DETECTION_LEARNERS.add(
    "fcos_resnet50_fpn",
    f"{_DETECTION}:fcos_resnet50_fpn",
    help="FCOS with a ResNet-50 FPN backbone (32 M weights); start from a weights file",
)
DETECTION_LEARNERS.add(
    "fcos_tiny",
    f"{_DETECTION}:fcos_tiny",
    help="small FCOS (0.5 M weights) for 64-128 px images, trained from scratch",
)

LEARNER_NAMES: tuple[str, ...] = LEARNERS.names()
"""Every classification learner's name, sorted."""

BACKBONE_LEARNER_NAMES: tuple[str, ...] = tuple(
    entry.name for entry in LEARNERS if "backbone" in entry.needs
)
"""Classification learners built on a pretrained backbone (torchvision, timm, open_clip), sorted."""

HUB_LEARNER_NAMES: tuple[str, ...] = tuple(sorted(DEFAULT_MODELS))
"""The backbone learners from optional extras, whose network ``backbone.model`` names."""
