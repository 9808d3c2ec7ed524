"""``embed`` mode: a frozen pretrained backbone, embeddings cached on disk, a light head per round.

The backbone runs once per image: its feature vectors are kept in a cache
folder keyed by the backbone, its weights and input size, and a hash of the
image's pixels, so every later round (and every later pass over the pool)
reads them instead of running the network. Each fit trains only the head,
a standardised logistic regression (``head="logreg"``), a one-hidden-layer
MLP (``"mlp"``) or that MLP in torch with dropout (``"mlp_dropout"``,
:mod:`~labelloop.learners.dropout_head`), in seconds. ``predict_samples``
feeds the Bayesian strategies: the scikit-learn heads draw from their
bootstrap clones (a bagged committee over the embeddings), ``"mlp_dropout"``
from Monte Carlo dropout passes. ``embed`` returns the backbone's features,
which the diversity strategies (core-set, TypiClust, BADGE-like) read.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import uuid
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import torch
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from labelloop.learners._checkpoint import Checkpoint
from labelloop.learners._validation import (
    N_CLASSES,
    InputShape,
    check_fitted,
    check_images,
    check_input_shape,
)
from labelloop.learners.backbones import BACKBONE_NAMES, Backbone, build_backbone
from labelloop.learners.base import Images, Labels
from labelloop.learners.dropout_head import DropoutMLPHead
from labelloop.learners.errors import (
    InvalidParameterError,
    ModelFileCorruptError,
    WeightsMismatchError,
)
from labelloop.learners.hub_backbones import BackboneName
from labelloop.learners.sklearn_learner import SklearnLearner
from labelloop.learners.training import resolve_device, seeded
from labelloop.plugins import Choice, Configurable, Constraint, Integer

__all__ = ["EmbeddingCache", "EmbeddingClassifier"]

_CHECKPOINT = Checkpoint(
    "EmbeddingClassifier", version=1, hint="load it with the learner that wrote it.", pickled=True
)
_TAG = re.compile(r"[A-Za-z0-9_.-]+")
"""A pretrained-weights tag, safe in a folder name."""

HEADS = ("logreg", "mlp", "mlp_dropout")

Head = SklearnLearner | DropoutMLPHead
"""A fitted head: a scikit-learn one (its samples are bootstrap clones) or the MC-dropout MLP."""


def _new_head(head: str, n_classes: int, bagging: int, random_state: int) -> Head:
    if head == "mlp_dropout":
        return DropoutMLPHead(n_classes=n_classes, random_state=random_state)
    estimator = _head_estimator(head, random_state)
    return SklearnLearner(estimator, n_classes, bagging=bagging, random_state=random_state)


def _head_estimator(head: str, random_state: int) -> Any:
    if head == "logreg":
        return make_pipeline(
            StandardScaler(), LogisticRegression(C=0.5, max_iter=2000, random_state=random_state)
        )
    if head == "mlp":
        return make_pipeline(
            StandardScaler(),
            MLPClassifier(
                hidden_layer_sizes=(256,), alpha=1e-3, max_iter=300, random_state=random_state
            ),
        )
    raise InvalidParameterError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")


class EmbeddingCache:
    """Feature vectors of images, keyed by a hash of their pixels, kept in a folder.

    Each batch of new vectors is written as one shard (``keys-ID.npy`` and
    ``vectors-ID.npy``, renamed into place when complete), so a crash loses
    at most the batch being written and the folder never holds half a
    shard. Shards are memory-mapped: the index, not the vectors, lives in RAM.
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._index: dict[bytes, tuple[int, int]] | None = None
        self._shards: list[NDArray[np.float32]] = []

    @staticmethod
    def key(image: NDArray[np.float32]) -> bytes:
        """A 16-byte hash of an image's pixels and shape."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(str(image.shape).encode())
        digest.update(np.ascontiguousarray(image).tobytes())
        return digest.digest()

    def _load(self) -> dict[bytes, tuple[int, int]]:
        if self._index is not None:
            return self._index
        self._index = {}
        if self.folder is not None and self.folder.is_dir():
            for keys_file in sorted(self.folder.glob("keys-*.npy")):
                vectors_file = keys_file.with_name(keys_file.name.replace("keys-", "vectors-"))
                try:
                    keys = np.load(keys_file)
                    vectors = np.load(vectors_file, mmap_mode="r")
                except (OSError, ValueError):
                    continue  # a damaged shard is recomputed, not trusted
                if keys.ndim != 2 or keys.shape[1] != 16 or len(keys) != len(vectors):
                    continue
                shard = len(self._shards)
                self._shards.append(vectors)
                for row, key in enumerate(keys):
                    self._index[key.tobytes()] = (shard, row)
        return self._index

    def __len__(self) -> int:
        return len(self._load())

    def get(self, keys: list[bytes]) -> tuple[list[int], NDArray[np.float32] | None]:
        """Positions of ``keys`` not cached, and the cached vectors (rows of the rest)."""
        index = self._load()
        missing = [i for i, key in enumerate(keys) if key not in index]
        found = [index[key] for key in keys if key in index]
        if not found:
            return missing, None
        rows = np.stack([self._shards[shard][row] for shard, row in found])
        return missing, rows.astype(np.float32, copy=False)

    def put(self, keys: list[bytes], vectors: NDArray[np.float32]) -> None:
        """Add vectors (written as a new shard when the cache has a folder)."""
        index = self._load()
        new = [i for i, key in enumerate(keys) if key not in index]
        if not new:
            return
        # Raw bytes as uint8 rows: numpy's "S" strings would drop trailing zero bytes.
        keys_array = np.frombuffer(b"".join(keys[i] for i in new), dtype=np.uint8).reshape(-1, 16)
        block: NDArray[np.float32] = np.ascontiguousarray(vectors[new], dtype=np.float32)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            shard_id = uuid.uuid4().hex
            for stem, array in (("vectors", block), ("keys", keys_array)):
                final = self.folder / f"{stem}-{shard_id}.npy"
                partial = final.with_suffix(".part")
                with open(partial, "wb") as out:
                    np.save(out, array)
                os.replace(partial, final)  # keys last: a shard counts once both exist
            # Served from the file from now on: RAM holds the index, not the vectors
            # (a million 512-d embeddings are 2 GB).
            block = np.load(self.folder / f"vectors-{shard_id}.npy", mmap_mode="r")
        shard = len(self._shards)
        self._shards.append(block)
        for row, i in enumerate(new):
            index[keys[i]] = (shard, row)


@dataclass(eq=False, repr=False)
class EmbeddingClassifier(Configurable):
    """A frozen backbone's cached embeddings and a head trained on them (module docstring).

    Args:
        backbone: A name of :data:`~labelloop.learners.backbones.BACKBONE_NAMES`.
        n_classes: Number of classes.
        input_shape: ``(channels, height, width)`` of the images.
        weights: ``"none"``, ``"imagenet"`` or a state-dict file.
        input_size: Side the backbone sees (images are resized to it).
        head: ``"logreg"``, ``"mlp"`` (scikit-learn) or ``"mlp_dropout"``
            (:class:`~labelloop.learners.dropout_head.DropoutMLPHead`).
        cache_root: Folder that holds the embedding caches (one subfolder per
            backbone, weights and input size); None keeps them in memory only.
        bagging: Bootstrap clones of a scikit-learn head for ``predict_samples``
            (``"mlp_dropout"`` samples by Monte Carlo dropout instead).
        random_state: Seeds the head, its clones and random (``"none"``) backbone weights.
        device: Torch device of the backbone (None: CUDA when available).
        batch_size: Images per backbone forward pass.
    """

    constraints: ClassVar[dict[str, Constraint]] = {
        "backbone": BackboneName(BACKBONE_NAMES),
        "bagging": Integer(low=0),
        "batch_size": Integer(low=1),
        "head": Choice(HEADS),
        "input_shape": InputShape(),
        "input_size": Integer(low=1),
        "n_classes": N_CLASSES,
        "random_state": Integer(low=0),
    }
    parameter_error = InvalidParameterError

    backbone: str
    n_classes: int
    input_shape: tuple[int, int, int]
    _: KW_ONLY
    weights: str = "imagenet"
    input_size: int = 224
    head: str = "logreg"
    cache_root: Path | None = None
    bagging: int = 10
    random_state: int = 0
    device: str | None = None
    batch_size: int = 64

    head_: Head | None = field(init=False, default=None)
    # Built on first use, and again where the learner is unpickled (see __getstate__).
    _network: Backbone | None = field(init=False, default=None, repr=False)
    _cache: EmbeddingCache | None = field(init=False, default=None, repr=False)

    # the backbone and its cache, built on first use (and after unpickling) -------------

    def _tag(self) -> str:
        weights = self.weights
        if weights == "none":
            # Random weights differ by seed, and so do their embeddings.
            weights = f"none{self.random_state}"
        elif Path(weights).is_file():
            # A weights file: its place and age, so that a retrained file is embedded anew.
            path = Path(weights)
            weights = hashlib.blake2b(
                f"{path.resolve()}:{path.stat().st_mtime_ns}".encode(), digest_size=8
            ).hexdigest()
        elif not _TAG.fullmatch(weights):
            # Neither a file nor a plain tag: a name the backbone will refuse; keep it
            # out of the folder name.
            weights = hashlib.blake2b(weights.encode(), digest_size=8).hexdigest()
        # "imagenet" and pretrained tags (timm's "a1_in1k", open_clip's "openai") stand
        # as they are: the same tag means the same weights wherever the project runs.
        return f"{self.backbone}-{weights}-{self.input_size}"

    @property
    def cache(self) -> EmbeddingCache:
        """The embedding cache of this backbone, weights and input size."""
        if self._cache is None:
            folder = None if self.cache_root is None else Path(self.cache_root) / self._tag()
            self._cache = EmbeddingCache(folder)
        return self._cache

    def _backbone(self) -> Backbone:
        if self._network is None:
            device = resolve_device(self.device)
            # Seeded, so that random weights ("none") give the same embeddings after load().
            with seeded(self.random_state, device):
                network = build_backbone(self.backbone, self.weights, self.input_size)
            self._network = network.to(device)
        return self._network

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_network"] = None  # rebuilt where it is unpickled (a Ray actor)
        state["_cache"] = None
        return state

    def embed(self, X: NDArray[np.floating]) -> NDArray[np.float32]:
        """The backbone's feature vectors, shape ``(n, d)``, from the cache where it has them."""
        images = check_images(X, input_shape=check_input_shape(self.input_shape))
        keys = [EmbeddingCache.key(image) for image in images]
        missing, cached = self.cache.get(keys)
        out: NDArray[np.float32] | None = None
        if missing:
            network = self._backbone()
            device = next(network.parameters()).device
            parts = []
            with torch.inference_mode():
                for start in range(0, len(missing), self.batch_size):
                    rows = missing[start : start + self.batch_size]
                    batch = torch.from_numpy(np.ascontiguousarray(images[rows])).to(device)
                    parts.append(network(batch).float().cpu().numpy())
            computed = np.concatenate(parts).astype(np.float32, copy=False)
            self.cache.put([keys[i] for i in missing], computed)
            out = np.empty((len(images), computed.shape[1]), dtype=np.float32)
            out[missing] = computed
        if cached is not None:
            if out is None:
                return cached
            present = np.setdiff1d(np.arange(len(images)), missing)
            out[present] = cached
        assert out is not None
        return out

    # the learner protocol --------------------------------------------------------------

    def _features(self, X: NDArray[np.floating]) -> NDArray[np.float32]:
        z = self.embed(X)
        return z.reshape(len(z), z.shape[1], 1, 1)

    def fit(
        self, X: Images, y: Labels, X_val: Images | None = None, y_val: Labels | None = None
    ) -> Self:
        """Train the head on the images' embeddings (the validation side is not used to fit)."""
        checked = self.check_params()
        self.head_ = _new_head(
            checked["head"], checked["n_classes"], checked["bagging"], checked["random_state"]
        )
        self.head_.fit(self._features(X), y)
        return self

    def refit(self, X: NDArray[np.floating], y: NDArray[np.integer]) -> Self:
        """Train the head again on every label."""
        return self.fit(X, y)

    def _fitted(self) -> Head:
        head: Head = check_fitted(self, "head_")
        return head

    def predict_proba(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        """Class probabilities of the head on the images' embeddings."""
        return self._fitted().predict_proba(self._features(X))

    def predict_samples(self, X: NDArray[np.floating], n_samples: int = 20) -> NDArray[np.float64]:
        """Probabilities of the head's samples, shape ``(k, n, n_classes)``.

        A scikit-learn head gives one sample per bootstrap clone (``k`` at most
        ``bagging``); ``"mlp_dropout"`` gives ``n_samples`` Monte Carlo dropout passes.
        """
        return self._fitted().predict_samples(self._features(X), n_samples)

    def save(self, path: Path) -> None:
        """Write the head and the backbone's settings (not its weights: they are the setting's)."""
        head = self._fitted()
        state = _CHECKPOINT.state(
            config=self._config(), head=pickle.dumps(head, protocol=pickle.HIGHEST_PROTOCOL)
        )
        _CHECKPOINT.save(path, state)

    def _config(self) -> dict[str, Any]:
        return {
            "backbone": self.backbone,
            "weights": self.weights,
            "input_size": self.input_size,
            "head": self.head,
            "n_classes": self.n_classes,
            "input_shape": tuple(self.input_shape),
        }

    def load(self, path: Path) -> Self:
        """Restore a head written by :meth:`save` (unpickled: load only your own files).

        Raises:
            WeightsMismatchError: it was saved for another backbone, head,
                class count or input shape.
        """
        path = Path(path)
        state = _CHECKPOINT.read(path)
        if state["config"] != self._config():
            raise WeightsMismatchError(
                f"{path} was saved for {state['config']}, not {self._config()}"
            )
        head = pickle.loads(state["head"])
        if not isinstance(head, SklearnLearner | DropoutMLPHead):
            raise ModelFileCorruptError(f"{path} holds no head")
        self.head_ = head
        return self
