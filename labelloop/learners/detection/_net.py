"""The networks behind :class:`~labelloop.learners.detection.TorchDetector`.

Both architectures are torchvision :class:`~torchvision.models.detection.FCOS`
models. Their parts are driven here directly instead of through
``FCOS.forward``, for two reasons: torchvision's transform resizes every image
to ``min_size`` (800 px by default), which a 64 px image does not need, and its
post-processing keeps one class per box and drops the others' scores, where
the strategies need each box's whole class distribution.

Boxes inside this module are ``(x1, y1, x2, y2)`` tensors in pixels, as
torchvision uses them; :func:`xywh_to_xyxy` and :func:`xyxy_to_xywh` convert
to and from the ``(x, y, width, height)`` of
:mod:`~labelloop.learners.detection.types`.
"""

from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn
from torch.nn.functional import adaptive_avg_pool2d, pad
from torchvision.models import resnet50
from torchvision.models.detection import FCOS
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.models.detection.fcos import FCOSHead
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import FeaturePyramidNetwork, batched_nms, box_iou, clip_boxes_to_image
from torchvision.ops.feature_pyramid_network import LastLevelP6P7

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "RawDetections",
    "build_fcos",
    "detect",
    "embedding_dim",
    "matched_iou",
    "mirror_boxes",
    "pooled_features",
    "training_loss",
    "xywh_to_xyxy",
    "xyxy_to_xywh",
]

Architecture = Literal["fcos_resnet50_fpn", "fcos_tiny"]
ARCHITECTURES: tuple[str, ...] = get_args(Architecture)
"""The names of :data:`Architecture`, sorted."""

# Feature maps are padded to a multiple of this, so every stride-2 step halves evenly.
_SIZE_DIVISIBLE = 32
# Channels of the tiny backbone's three stages (strides 4, 8 and 16).
_TINY_STAGES = (32, 64, 96)
_TINY_FPN_CHANNELS = 64
# FCOS assigns an object to the level whose anchor size s satisfies 4s < reach < 8s
# (the first level from 0, the last without bound); with sizes equal to the
# strides, objects up to 32 px across land on the stride-4 map, 16x16 at 64 px.
_TINY_ANCHOR_SIZES: tuple[tuple[int, ...], ...] = ((4,), (8,), (16,))
_RESNET_ANCHOR_SIZES: tuple[tuple[int, ...], ...] = ((8,), (16,), (32,), (64,), (128,))
# Candidate locations kept before non-maximum suppression.
_TOPK_CANDIDATES = 1000


def _conv_block(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """A 3x3 convolution, group norm and ReLU.

    Group norm rather than batch norm: detection batches are small, and the
    training and inference passes then compute the same thing.
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.GroupNorm(8, out_channels),
        nn.ReLU(inplace=True),
    )


class TinyBackbone(nn.Module):
    """A few strided convolutions and a small feature pyramid, for images of 64-128 px.

    Args:
        in_channels: Image channels.

    Attributes:
        out_channels: Channels of every pyramid level, as FCOS requires.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        c1, c2, c3 = _TINY_STAGES
        self.stem = nn.Sequential(_conv_block(in_channels, c1, 2), _conv_block(c1, c1, 1))
        self.stage1 = nn.Sequential(_conv_block(c1, c1, 2), _conv_block(c1, c1, 1))
        self.stage2 = nn.Sequential(_conv_block(c1, c2, 2), _conv_block(c2, c2, 1))
        self.stage3 = nn.Sequential(_conv_block(c2, c3, 2), _conv_block(c3, c3, 1))
        self.fpn = FeaturePyramidNetwork([c1, c2, c3], _TINY_FPN_CHANNELS)
        self.out_channels = _TINY_FPN_CHANNELS

    def forward(self, images: Tensor) -> "OrderedDict[str, Tensor]":
        """Pyramid features of a batch.

        Args:
            images: Normalised images, shape ``(b, C, H, W)``, ``H`` and ``W``
                multiples of 16.

        Returns:
            Levels ``"0"``, ``"1"``, ``"2"`` of shapes ``(b, 64, H/4, W/4)``,
            ``(b, 64, H/8, W/8)`` and ``(b, 64, H/16, W/16)``.
        """
        x1 = self.stage1(self.stem(images))
        x2 = self.stage2(x1)
        x3 = self.stage3(x2)
        features: OrderedDict[str, Tensor] = self.fpn(
            OrderedDict([("0", x1), ("1", x2), ("2", x3)])
        )
        return features


def build_fcos(architecture: Architecture, n_classes: int, image_channels: int) -> FCOS:
    """A randomly initialised FCOS detector.

    Args:
        architecture: ``"fcos_tiny"`` (:class:`TinyBackbone`, two-conv heads) or
            ``"fcos_resnet50_fpn"`` (torchvision's ResNet-50 FPN layout, which
            takes 3-channel images; grayscale is repeated to 3 channels).
        n_classes: Object classes (no background class: FCOS scores each class
            with its own sigmoid).
        image_channels: Channels of the images the tiny backbone takes.

    Returns:
        The detector, in training mode, on the CPU.
    """
    if architecture == "fcos_tiny":
        backbone: nn.Module = TinyBackbone(image_channels)
        anchor_sizes = _TINY_ANCHOR_SIZES
        mean, std = [0.5] * image_channels, [0.25] * image_channels
        head: nn.Module | None = FCOSHead(_TINY_FPN_CHANNELS, 1, n_classes, num_convs=2)
    else:
        backbone = _resnet_fpn_extractor(
            resnet50(), 5, returned_layers=[2, 3, 4], extra_blocks=LastLevelP6P7(256, 256)
        )
        anchor_sizes = _RESNET_ANCHOR_SIZES
        mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
        head = None
    anchors = AnchorGenerator(anchor_sizes, ((1.0,),) * len(anchor_sizes))
    return FCOS(
        backbone,
        n_classes,
        image_mean=mean,
        image_std=std,
        anchor_generator=anchors,
        head=head,
    )


def mirror_boxes(boxes: Tensor, width: int) -> Tensor:
    """Boxes of an image mirrored left-right.

    Args:
        boxes: ``(m, 4)`` x1y1x2y2 pixels.
        width: The image's width in pixels.

    Returns:
        ``(m, 4)`` the mirrored boxes, still with ``x1 <= x2``.
    """
    return torch.stack((width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]), dim=1)


def _input_channels(model: FCOS) -> int:
    return len(model.transform.image_mean)


def _image_list(model: FCOS, images: Tensor) -> ImageList:
    """Normalise a batch and pad it to a multiple of 32 px, without resizing.

    Args:
        model: The detector; its transform's mean and std are used.
        images: Images in ``[0, 1]``, shape ``(b, C, H, W)``.

    Returns:
        The padded batch, with every image's true size ``(H, W)``.
    """
    channels = _input_channels(model)
    if images.shape[1] == 1 and channels == 3:
        images = images.expand(-1, 3, -1, -1)
    mean = torch.tensor(model.transform.image_mean, device=images.device)
    std = torch.tensor(model.transform.image_std, device=images.device)
    normalised = (images - mean[:, None, None]) / std[:, None, None]
    height, width = images.shape[-2:]
    pad_h = -height % _SIZE_DIVISIBLE
    pad_w = -width % _SIZE_DIVISIBLE
    if pad_h or pad_w:
        normalised = pad(normalised, (0, pad_w, 0, pad_h))
    return ImageList(normalised, [(int(height), int(width))] * images.shape[0])


def _features(model: FCOS, image_list: ImageList) -> list[Tensor]:
    features = model.backbone(image_list.tensors)
    return list(features.values())


def training_loss(model: FCOS, images: Tensor, targets: list[dict[str, Tensor]]) -> Tensor:
    """FCOS's summed loss (classification, box regression, centerness) on a batch.

    Args:
        model: The detector.
        images: Images in ``[0, 1]``, shape ``(b, C, H, W)``, on the model's device.
        targets: Per image ``{"boxes": (m, 4) x1y1x2y2 float, "labels": (m,) int64}``;
            ``m`` may be 0.

    Returns:
        The scalar loss.
    """
    image_list = _image_list(model, images)
    features = _features(model, image_list)
    head_outputs = model.head(features)
    anchors = model.anchor_generator(image_list, features)
    per_level = [f.shape[2] * f.shape[3] for f in features]
    losses = model.compute_loss(targets, head_outputs, anchors, per_level)
    return sum(losses.values(), torch.zeros((), device=images.device))


def embedding_dim(model: FCOS) -> int:
    """Length of :func:`pooled_features` vectors: channels times pyramid levels."""
    levels = len(model.anchor_generator.sizes)
    return int(model.backbone.out_channels) * levels


def pooled_features(model: FCOS, images: Tensor) -> Tensor:
    """Each pyramid level average-pooled, the levels concatenated.

    Args:
        model: The detector.
        images: Images in ``[0, 1]``, shape ``(b, C, H, W)``.

    Returns:
        Features, shape ``(b, embedding_dim(model))``.
    """
    features = _features(model, _image_list(model, images))
    pooled = [adaptive_avg_pool2d(level, 1).flatten(1) for level in features]
    return torch.cat(pooled, dim=1)


@dataclass(frozen=True)
class RawDetections:
    """One image's detections as tensors.

    Attributes:
        boxes: ``(m, 4)`` x1y1x2y2 pixels, clipped to the image.
        labels: ``(m,)`` int64, the argmax of ``class_probs``.
        scores: ``(m,)`` FCOS confidence, ``sqrt(max class sigmoid * centerness)``.
        class_probs: ``(m, K)`` the location's class sigmoids divided by their sum.
    """

    boxes: Tensor
    labels: Tensor
    scores: Tensor
    class_probs: Tensor


def detect(
    model: FCOS,
    images: Tensor,
    *,
    score_threshold: float,
    nms_threshold: float,
    max_detections: int,
) -> list[RawDetections]:
    """Detections of a batch, one candidate class per location.

    Each feature-map location proposes one box, labeled with its most likely
    class, so a box's label always equals the argmax of its class distribution
    (torchvision's FCOS lets one location propose a box per class instead).
    Boxes scoring at most ``score_threshold`` are dropped, the best
    :data:`_TOPK_CANDIDATES` go through class-wise non-maximum suppression, and
    at most ``max_detections`` remain, by score descending.

    Args:
        model: The detector, in eval mode.
        images: Images in ``[0, 1]``, shape ``(b, C, H, W)``.
        score_threshold: Lowest score kept, exclusive.
        nms_threshold: IoU above which the lower-scoring box of a class is dropped.
        max_detections: Most boxes per image.

    Returns:
        One :class:`RawDetections` per image.
    """
    image_list = _image_list(model, images)
    features = _features(model, image_list)
    head = model.head(features)
    anchors = model.anchor_generator(image_list, features)
    height, width = image_list.image_sizes[0]
    results = []
    for index, anchors_per_image in enumerate(anchors):
        sigmoids = torch.sigmoid(head["cls_logits"][index])
        best, labels = sigmoids.max(dim=1)
        centerness = torch.sigmoid(head["bbox_ctrness"][index]).squeeze(-1)
        scores = torch.sqrt(best * centerness)
        candidates = torch.nonzero(scores > score_threshold).squeeze(1)
        if candidates.numel() > _TOPK_CANDIDATES:
            candidates = candidates[scores[candidates].topk(_TOPK_CANDIDATES).indices]
        boxes = model.box_coder.decode(
            head["bbox_regression"][index][candidates], anchors_per_image[candidates]
        )
        boxes = clip_boxes_to_image(boxes, (height, width))
        keep = batched_nms(boxes, scores[candidates], labels[candidates], nms_threshold)
        chosen = candidates[keep[:max_detections]]
        probs = sigmoids[chosen]
        results.append(
            RawDetections(
                boxes=boxes[keep[:max_detections]],
                labels=labels[chosen],
                scores=scores[chosen],
                class_probs=probs / probs.sum(dim=1, keepdim=True).clamp_min(1e-12),
            )
        )
    return results


def xywh_to_xyxy(boxes: NDArray[np.float32]) -> Tensor:
    """``(m, 4)`` ``x, y, width, height`` boxes as a ``x1, y1, x2, y2`` tensor."""
    tensor = torch.from_numpy(np.ascontiguousarray(boxes, dtype=np.float32))
    return torch.cat((tensor[:, :2], tensor[:, :2] + tensor[:, 2:]), dim=1)


def xyxy_to_xywh(boxes: Tensor) -> NDArray[np.float32]:
    """``(m, 4)`` ``x1, y1, x2, y2`` boxes as a ``x, y, width, height`` array."""
    array = boxes.detach().cpu().numpy().astype(np.float32)
    array[:, 2:] -= array[:, :2]
    return array


def matched_iou(boxes: Tensor, labels: Tensor, other: RawDetections) -> Tensor:
    """``(m,)`` IoU of each box with its best-overlapping ``other`` box of the same class."""
    if boxes.numel() == 0 or other.boxes.numel() == 0:
        return torch.zeros(boxes.shape[0], device=boxes.device)
    iou = box_iou(boxes, other.boxes)
    iou[labels[:, None] != other.labels[None, :]] = 0.0
    best: Tensor = iou.max(dim=1).values
    return best
