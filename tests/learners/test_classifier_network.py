"""Which network a classifier builds, and what its checkpoint records (classifier_network)."""

from pathlib import Path

import pytest
import torch

from labelloop.learners import WeightsMismatchError
from labelloop.learners.backbones import BackboneClassifier
from labelloop.learners.classifier_network import ClassifierNetwork, batched_probabilities
from labelloop.learners.networks import ResNet18Classifier

from .conftest import random_images


def _spec(backbone_weights: str, backbone_size: int = 32) -> ClassifierNetwork:
    return ClassifierNetwork(
        "resnet18",
        n_classes=2,
        input_shape=(3, 16, 16),
        dropout=0.0,
        backbone_weights=backbone_weights,
        backbone_size=backbone_size,
    )


def test_resnet18_without_backbone_weights_is_the_small_image_network() -> None:
    spec = _spec("none")
    assert not spec.pretrained_backbone
    assert isinstance(spec.build(), ResNet18Classifier)
    assert "backbone_size" not in spec.architecture()


def test_resnet18_with_backbone_weights_is_a_torchvision_backbone_of_its_size() -> None:
    spec = _spec("imagenet")
    assert spec.pretrained_backbone
    # "none": build the torchvision architecture without fetching ImageNet weights.
    assert isinstance(spec.build("none"), BackboneClassifier)
    assert spec.architecture() == {
        "network": "resnet18",
        "n_classes": 2,
        "input_shape": [3, 16, 16],
        "backbone_size": 32,
    }


def test_restore_gives_back_the_weights_and_the_temperature(tmp_path: Path) -> None:
    spec = _spec("none")
    torch.manual_seed(0)
    network = spec.build().eval()
    device = torch.device("cpu")
    restored, temperature = spec.restore(
        spec.state(network, 1.7), tmp_path / "m.pt", device=device, seed=0
    )
    images = random_images(3, (3, 16, 16))
    expected = batched_probabilities(network, images, 1.7, batch_size=2, device=device)
    assert not restored.training  # restored in eval mode
    got = batched_probabilities(restored, images, temperature, batch_size=2, device=device)
    assert temperature == 1.7
    assert (got == expected).all()


def test_restore_refuses_a_backbone_saved_at_another_input_size(tmp_path: Path) -> None:
    saved = _spec("imagenet", backbone_size=32)
    state = saved.state(saved.build("none"), 1.0)
    with pytest.raises(WeightsMismatchError, match="backbone_size"):
        _spec("imagenet", backbone_size=64).restore(
            state, tmp_path / "m.pt", device=torch.device("cpu"), seed=0
        )
