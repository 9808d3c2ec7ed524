import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from labelloop.learners import (
    InvalidParameterError,
    ModelFileCorruptError,
    ModelFileNotFoundError,
    ResNet18Classifier,
    SmallCNN,
    TorchClassifier,
    WeightsMismatchError,
    build_network,
)
from labelloop.learners.networks import load_matching_weights

from .conftest import random_images


@pytest.mark.parametrize("size", [1, 2, 8, 13, 64])
def test_small_cnn_accepts_any_size(size: int) -> None:
    network = SmallCNN(3, 5).eval()
    with torch.no_grad():
        logits = network(torch.zeros(2, 3, size, size))
        features = network.features(torch.zeros(2, 3, size, size))
    assert logits.shape == (2, 5)
    assert features.shape == (2, network.embedding_dim)


def test_dropout_sits_before_the_head() -> None:
    network = build_network("cnn", 4, (1, 8, 8), dropout=0.4)
    assert isinstance(network.dropout, nn.Dropout)
    assert network.dropout.p == 0.4
    network.train()
    x = torch.rand(16, 1, 8, 8)
    # With dropout active, two passes differ; in eval mode they agree.
    assert not torch.equal(network(x), network(x))
    network.eval()
    assert torch.equal(network(x), network(x))


def test_resnet_small_input_gets_small_stem() -> None:
    network = build_network("resnet18", 10, (1, 8, 8), dropout=0.0)
    assert isinstance(network, ResNet18Classifier)
    assert network.body.conv1.kernel_size == (3, 3)
    assert network.body.conv1.stride == (1, 1)
    assert network.body.conv1.in_channels == 1
    assert isinstance(network.body.maxpool, nn.Identity)
    assert network.head.out_features == 10


def test_resnet_large_input_keeps_imagenet_stem() -> None:
    network = build_network("resnet18", 3, (1, 96, 96), dropout=0.0)
    assert isinstance(network, ResNet18Classifier)
    assert network.body.conv1.kernel_size == (7, 7)
    assert network.body.conv1.in_channels == 1
    assert isinstance(network.body.maxpool, nn.MaxPool2d)
    with torch.no_grad():
        assert network.eval()(torch.zeros(1, 1, 96, 96)).shape == (1, 3)


def test_build_network_rejects_unknown_name() -> None:
    with pytest.raises(InvalidParameterError, match="vgg"):
        build_network("vgg", 3, (1, 8, 8), dropout=0.0)  # type: ignore[arg-type]


def test_torchvision_state_dict_fills_matching_weights() -> None:
    torch.manual_seed(1)
    source = resnet18(weights=None).state_dict()
    network = ResNet18Classifier(1, 10, (8, 8), dropout=0.0)
    own_stem = network.body.conv1.weight.detach().clone()
    skipped = load_matching_weights(network, source)
    # The RGB 7x7 stem and the 1000-class fc do not fit and are skipped.
    assert set(skipped) == {"conv1.weight", "fc.weight", "fc.bias"}
    assert torch.equal(network.body.layer3[1].conv2.weight, source["layer3.1.conv2.weight"])
    assert torch.equal(network.body.bn1.running_var, source["bn1.running_var"])
    assert torch.equal(network.body.conv1.weight, own_stem)


def test_unrelated_state_dict_is_rejected() -> None:
    network = build_network("resnet18", 10, (1, 8, 8), dropout=0.0)
    with pytest.raises(WeightsMismatchError, match="another architecture"):
        load_matching_weights(network, {"encoder.weight": torch.zeros(3)})


def test_weights_path_initialises_classifier(tmp_path: Path) -> None:
    torch.manual_seed(2)
    source = build_network("resnet18", 10, (1, 8, 8), dropout=0.0)
    path = tmp_path / "resnet.pt"
    torch.save(source.state_dict(), path)
    X = random_images(4, (1, 8, 8))
    learner = TorchClassifier(
        "resnet18", 10, (1, 8, 8), epochs=0, weights_path=path, random_state=7, device="cpu"
    ).fit(X, np.arange(4))
    assert learner.skipped_weights_ == []
    with torch.inference_mode():
        expected = torch.softmax(source.eval()(torch.from_numpy(X)).double(), dim=1).numpy()
    np.testing.assert_allclose(learner.predict_proba(X), expected, rtol=1e-6)
    plain = TorchClassifier("resnet18", 10, (1, 8, 8), epochs=0, random_state=7, device="cpu")
    assert not np.allclose(plain.fit(X, np.arange(4)).predict_proba(X), expected)


def test_weights_path_with_other_head_skips_it(tmp_path: Path) -> None:
    path = tmp_path / "resnet.pt"
    torch.save({"state_dict": resnet18(weights=None).state_dict()}, path)
    learner = TorchClassifier("resnet18", 3, (3, 8, 8), epochs=0, weights_path=path, device="cpu")
    learner.fit(random_images(2, (3, 8, 8)), np.array([0, 1]))
    assert set(learner.skipped_weights_) == {"conv1.weight", "fc.weight", "fc.bias"}


def test_weights_path_missing(tmp_path: Path) -> None:
    path = tmp_path / "nope.pt"
    learner = TorchClassifier("cnn", 3, (1, 8, 8), weights_path=path)
    with pytest.raises(ModelFileNotFoundError, match=re.escape(str(path))):
        learner.fit(random_images(2, (1, 8, 8)), np.array([0, 1]))


def test_weights_path_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "bad.pt"
    path.write_text("hello")
    learner = TorchClassifier("cnn", 3, (1, 8, 8), weights_path=path)
    with pytest.raises(ModelFileCorruptError, match=re.escape(str(path))):
        learner.fit(random_images(2, (1, 8, 8)), np.array([0, 1]))


def test_small_cnn_shrinks_large_images_early_and_keeps_small_ones_as_they_were() -> None:
    import torch

    from labelloop.learners.networks import SmallCNN

    small = SmallCNN(1, 10, image_size=(28, 28))
    assert small.state_dict().keys() == SmallCNN(1, 10).state_dict().keys()
    assert small.body[0].stride == (1, 1)
    medium, large = SmallCNN(3, 10, image_size=(64, 64)), SmallCNN(3, 10, image_size=(128, 96))
    assert medium.body[0].stride == (2, 2)
    assert any(isinstance(m, torch.nn.MaxPool2d) for m in list(large.body)[:4])
    for net, side in ((medium, 64), (large, 128)):
        assert net.features(torch.zeros(2, 3, side, side)).shape == (2, 128)
