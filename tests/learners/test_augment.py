import torch

from labelloop.learners.augment import augment_batch


def _square() -> torch.Tensor:
    image = torch.zeros(1, 1, 20, 20)
    image[..., 8:12, 4:8] = 1.0  # a block left of centre
    return image.repeat(64, 1, 1, 1)


def test_none_is_the_identity() -> None:
    images = _square()
    assert augment_batch(images, "none", torch.Generator().manual_seed(0)) is images


def test_shift_moves_the_content_a_little_and_keeps_shape_and_range() -> None:
    images = _square()
    out = augment_batch(images, "shift", torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    cols = torch.arange(20.0)
    centre_x = (out.sum(dim=2).squeeze(1) * cols).sum(1) / out.sum(dim=(1, 2, 3))
    assert (centre_x - 5.5).abs().max() <= 0.1 * 20 + 1.0  # at most ~10% of the width
    assert centre_x.std() > 0.3  # each image moved differently
    assert (centre_x < 10).all()  # never mirrored


def test_shift_flip_mirrors_about_half() -> None:
    out = augment_batch(_square(), "shift_flip", torch.Generator().manual_seed(0))
    right = (out[..., 10:].sum(dim=(1, 2, 3)) > out[..., :10].sum(dim=(1, 2, 3))).float().mean()
    assert 0.3 < right < 0.7


def test_same_generator_seed_same_batch() -> None:
    first = augment_batch(_square(), "shift_flip", torch.Generator().manual_seed(4))
    again = augment_batch(_square(), "shift_flip", torch.Generator().manual_seed(4))
    assert torch.equal(first, again)
