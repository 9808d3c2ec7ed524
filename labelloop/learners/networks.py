"""Image classification networks with a separable feature extractor.

Every network here is a :class:`FeatureClassifier`: ``features`` maps images
to a vector (the embedding active-learning strategies use), then a dropout
layer and a linear ``head`` map that vector to class logits. Keeping dropout
as the ``dropout`` attribute lets MC-dropout switch it on at inference.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from torch import Tensor, nn
from torchvision.models import ResNet, resnet18

from labelloop.learners._files import read_file
from labelloop.learners.errors import (
    InvalidParameterError,
    ModelFileCorruptError,
    WeightsMismatchError,
)

__all__ = [
    "NETWORK_NAMES",
    "SMALL_INPUT_MAX_SIZE",
    "STRIDED_STEM_MIN_SIZE",
    "FeatureClassifier",
    "NetworkName",
    "ResNet18Classifier",
    "SmallCNN",
    "build_network",
    "load_matching_weights",
    "read_state_dict",
]

NetworkName = Literal["cnn", "resnet18"]
NETWORK_NAMES: tuple[str, ...] = ("cnn", "resnet18")

STRIDED_STEM_MIN_SIZE = 48
"""From this shorter side up, :class:`SmallCNN`'s first convolution has stride 2."""

SMALL_INPUT_MAX_SIZE = 64
"""Images whose shorter side is at most this many pixels get a ResNet stem of
one 3x3 stride-1 convolution without max-pooling; the ImageNet stem (7x7
stride 2, then max-pool) would shrink them to almost nothing."""


class FeatureClassifier(nn.Module):
    """A network split into ``features`` -> ``dropout`` -> ``head``.

    Args:
        embedding_dim: Length of the feature vector ``features`` returns.
        n_classes: Number of output logits.
        dropout: Dropout probability applied to the features before ``head``.

    Attributes:
        embedding_dim: Length of the feature vector.
        dropout: The dropout layer before the classifier head.
        head: Linear layer from features to logits.
    """

    def __init__(self, embedding_dim: int, n_classes: int, dropout: float) -> None:
        super().__init__()
        self.embedding_dim = embedding_dim
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(embedding_dim, n_classes)

    def features(self, x: Tensor) -> Tensor:
        """Map images to feature vectors.

        Args:
            x: Images, shape ``(n, channels, height, width)``.

        Returns:
            Features, shape ``(n, embedding_dim)``.
        """
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        """Class logits.

        Args:
            x: Images, shape ``(n, channels, height, width)``.

        Returns:
            Logits, shape ``(n, n_classes)``.
        """
        logits: Tensor = self.head(self.dropout(self.features(x)))
        return logits


def _conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


class SmallCNN(FeatureClassifier):
    """A three-convolution network for small images (8x8 to about 128x128).

    Two 3x3 convolutions, 2x2 max-pooling and a third convolution, each
    convolution followed by batch-norm and ReLU; then adaptive average pooling
    to 2x2, so any image size works, and a hidden layer that gives the
    embedding. Batch-norm roughly halves the labels needed on digits.

    Larger images are shrunk early, where it costs least: from a shorter side
    of :data:`STRIDED_STEM_MIN_SIZE` px the first convolution has stride 2,
    and from twice that a 2x2 max-pool follows it. A 64x64 RGB image then
    costs about a fifth of the compute it would at full resolution; images
    smaller than that get exactly the network they always had.

    Args:
        in_channels: Image channels (1 for grayscale, 3 for RGB).
        n_classes: Number of output logits.
        dropout: Dropout probability before the head.
        width: Channels of the first two convolutions; the third has twice as many.
        embedding_dim: Length of the feature vector.
        image_size: ``(height, width)`` of the images, which picks the stem;
            None for the full-resolution stem.

    Attributes:
        body: Convolutions, pooling and the hidden layer; ``features`` runs it.
    """

    body: nn.Sequential

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        dropout: float = 0.25,
        width: int = 32,
        embedding_dim: int = 128,
        image_size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(embedding_dim, n_classes, dropout)
        side = 0 if image_size is None else min(image_size)
        stem: list[nn.Module] = _conv_bn_relu(in_channels, width)
        if side >= STRIDED_STEM_MIN_SIZE:
            stem = _conv_bn_relu(in_channels, width, stride=2)
        if side >= 2 * STRIDED_STEM_MIN_SIZE:
            stem.append(nn.MaxPool2d(2, ceil_mode=True))
        self.body = nn.Sequential(
            *stem,
            *_conv_bn_relu(width, width),
            nn.MaxPool2d(2, ceil_mode=True),
            *_conv_bn_relu(width, 2 * width),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(2 * width * 4, embedding_dim),
            nn.ReLU(inplace=True),
        )

    def features(self, x: Tensor) -> Tensor:
        """Map images to feature vectors.

        Args:
            x: Images, shape ``(n, in_channels, height, width)``.

        Returns:
            Features, shape ``(n, embedding_dim)``.
        """
        out: Tensor = self.body(x)
        return out


class ResNet18Classifier(FeatureClassifier):
    """torchvision's ResNet-18, randomly initialised, fitted to the input shape.

    The stem's input channels follow ``in_channels``. Images whose shorter
    side is at most :data:`SMALL_INPUT_MAX_SIZE` get a 3x3 stride-1 stem
    without max-pooling. The features are the 512 globally pooled activations;
    torchvision's ``fc`` layer is replaced by ``dropout`` and ``head``.

    Args:
        in_channels: Image channels.
        n_classes: Number of output logits.
        image_size: ``(height, width)`` of the images, which picks the stem.
        dropout: Dropout probability before the head.

    Attributes:
        body: The torchvision ResNet-18 with ``fc`` set to identity.
    """

    body: ResNet

    def __init__(
        self, in_channels: int, n_classes: int, image_size: tuple[int, int], dropout: float = 0.25
    ) -> None:
        body = resnet18(weights=None)
        super().__init__(body.fc.in_features, n_classes, dropout)
        if min(image_size) <= SMALL_INPUT_MAX_SIZE:
            body.conv1 = _stem_conv(in_channels, kernel_size=3, stride=1)
            body.maxpool = nn.Identity()
        elif in_channels != body.conv1.in_channels:
            body.conv1 = _stem_conv(in_channels, kernel_size=7, stride=2)
        body.fc = nn.Identity()
        self.body = body

    def features(self, x: Tensor) -> Tensor:
        """Map images to feature vectors.

        Args:
            x: Images, shape ``(n, in_channels, height, width)``.

        Returns:
            Features, shape ``(n, 512)``.
        """
        out: Tensor = self.body(x)
        return out


def _stem_conv(in_channels: int, kernel_size: int, stride: int) -> nn.Conv2d:
    conv = nn.Conv2d(
        in_channels, 64, kernel_size, stride=stride, padding=kernel_size // 2, bias=False
    )
    # torchvision initialises every ResNet convolution this way; keep the stem alike.
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    return conv


def build_network(
    name: NetworkName, n_classes: int, input_shape: tuple[int, int, int], dropout: float
) -> FeatureClassifier:
    """Build a randomly initialised network by name.

    Initialisation draws from torch's global CPU generator; callers that need
    reproducible weights seed it (inside :func:`torch.random.fork_rng`).

    Args:
        name: ``"cnn"`` for :class:`SmallCNN`, ``"resnet18"`` for
            :class:`ResNet18Classifier`.
        n_classes: Number of output logits.
        input_shape: ``(channels, height, width)`` of the images.
        dropout: Dropout probability before the head.

    Returns:
        The network, on the CPU, in training mode.

    Raises:
        InvalidParameterError: If ``name`` is not a known network.
    """
    channels, height, width = input_shape
    if name == "cnn":
        return SmallCNN(channels, n_classes, dropout=dropout, image_size=(height, width))
    if name == "resnet18":
        return ResNet18Classifier(channels, n_classes, (height, width), dropout=dropout)
    raise InvalidParameterError(f"unknown network {name!r}; use one of {NETWORK_NAMES}.")


def read_state_dict(path: Path) -> dict[str, Tensor]:
    """Read a state dict from a file written with :func:`torch.save`.

    The file may hold a state dict itself, or a dict that keeps one under
    ``"state_dict"`` (as labelloop's saved learners and many checkpoints do).
    Only tensors and plain containers are unpickled (``weights_only=True``).

    Args:
        path: The file.

    Returns:
        Parameter and buffer names mapped to tensors, on the CPU.

    Raises:
        ModelFileNotFoundError: If ``path`` does not exist.
        ModelFileCorruptError: If the file cannot be read or holds no state dict.
    """
    path = Path(path)
    content = read_file(
        path, what="torch weights file", missing_hint="check weights_path.", use_torch=True
    )
    if isinstance(content, Mapping) and isinstance(content.get("state_dict"), Mapping):
        content = content["state_dict"]
    if not isinstance(content, Mapping) or not all(
        isinstance(key, str) and isinstance(value, Tensor) for key, value in content.items()
    ):
        raise ModelFileCorruptError(
            f"{path} holds no state dict; save one with torch.save(model.state_dict(), path)."
        )
    return dict(content)


def load_matching_weights(model: nn.Module, state_dict: Mapping[str, Tensor]) -> list[str]:
    """Copy into ``model`` the weights whose names and shapes match.

    Names are matched as they are, or with ``body.`` put in front, so a plain
    torchvision ResNet-18 state dict (``conv1.weight``) fills
    :class:`ResNet18Classifier` (``body.conv1.weight``). Weights that do not
    fit, such as an ImageNet ``fc`` head or an RGB stem loaded into a
    grayscale network, are skipped and the model keeps its own.

    Args:
        model: The network to fill.
        state_dict: Names mapped to tensors.

    Returns:
        The names in ``state_dict`` that were skipped.

    Raises:
        WeightsMismatchError: If no weight at all matches, which means the
            file belongs to another architecture.
    """
    own = model.state_dict()
    matched: dict[str, Tensor] = {}
    skipped: list[str] = []
    for key, value in state_dict.items():
        target = key if key in own else f"body.{key}"
        if target in own and own[target].shape == value.shape:
            matched[target] = value
        else:
            skipped.append(key)
    if not matched:
        raise WeightsMismatchError(
            f"none of the {len(state_dict)} weights match {type(model).__name__}; "
            "the file was saved from another architecture, so pick the matching network."
        )
    own.update(matched)
    model.load_state_dict(own)
    return skipped
