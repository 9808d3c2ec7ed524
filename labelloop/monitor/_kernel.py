"""Gaussian-kernel blocks and the all-permutations MMD² used by the MMD drift test.

Every statistic of a permutation test is ``wᵀ K w`` over the pooled kernel
matrix ``K``, with ``w = 1/n_ref`` on the rows playing the reference and
``-1/n`` on the rows playing the batch. Stacking the true split and every
permutation as rows of one weight matrix ``W`` turns the whole test into a few
matrix products, which BLAS runs at full speed.
"""

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "gaussian_block",
    "median_distance",
    "mmd2_all",
    "permutation_weights",
    "sq_distances",
]

_FloatArray = NDArray[np.floating[Any]]


def sq_distances(
    X: _FloatArray, Y: _FloatArray, x_sq: _FloatArray | None = None, y_sq: _FloatArray | None = None
) -> _FloatArray:
    """Squared Euclidean distances by the GEMM form ``‖x‖² + ‖y‖² - 2xyᵀ``.

    Args:
        X: (n_x, d) rows.
        Y: (n_y, d) rows, same dtype as ``X``.
        x_sq: (n_x,) squared norms of ``X``'s rows, if already known.
        y_sq: (n_y,) squared norms of ``Y``'s rows, if already known.

    Returns:
        (n_x, n_y) squared distances, clipped at 0 (rounding can make them
        slightly negative), in ``X``'s dtype.
    """
    if x_sq is None:
        x_sq = np.einsum("ij,ij->i", X, X)
    if y_sq is None:
        y_sq = np.einsum("ij,ij->i", Y, Y)
    D = X @ Y.T
    D *= -2.0
    D += x_sq[:, np.newaxis]
    D += y_sq[np.newaxis, :]
    np.maximum(D, 0.0, out=D)
    return D


def gaussian_block(sq_dist: _FloatArray, bandwidth: float) -> _FloatArray:
    """Turn squared distances into ``exp(-‖x-y‖² / (2sigma²))`` in place and return them.

    Args:
        sq_dist: (n_x, n_y) squared distances; overwritten.
        bandwidth: The kernel width sigma > 0.

    Returns:
        (n_x, n_y) the kernel values, the same array as ``sq_dist``.
    """
    sq_dist *= -1.0 / (2.0 * bandwidth * bandwidth)
    np.exp(sq_dist, out=sq_dist)
    return sq_dist


def median_distance(X: _FloatArray) -> float:
    """The median Euclidean distance over all pairs of distinct rows of ``X``.

    Args:
        X: (n, d) rows, n >= 2.

    Returns:
        The median pairwise distance (0 when most rows coincide).
    """
    D = sq_distances(X, X)
    upper = D[np.triu_indices(X.shape[0], k=1)]
    return float(np.sqrt(np.median(upper)))


def permutation_weights(
    n_reference: int, n_batch: int, n_permutations: int, rng: np.random.Generator, dtype: Any
) -> _FloatArray:
    """The weight matrix of the true split followed by random relabellings.

    Pooled rows are ordered reference first, then batch. Row 0 is the true
    split; each further row assigns the batch role to ``n_batch`` pooled rows
    drawn uniformly without replacement.

    Args:
        n_reference: Rows of the reference, ``n_ref``.
        n_batch: Rows of the batch, ``n``.
        n_permutations: Random relabellings, ``P``.
        rng: The source of randomness.
        dtype: The floating dtype of the result.

    Returns:
        (P + 1, n_ref + n) weights ``1/n_ref`` (reference role) or ``-1/n`` (batch role).
    """
    n_pooled = n_reference + n_batch
    W = np.full((n_permutations + 1, n_pooled), 1.0 / n_reference, dtype=dtype)
    W[0, n_reference:] = -1.0 / n_batch
    if n_permutations:
        # The n smallest of uniform keys form a uniform n-subset of each row.
        keys = rng.random((n_permutations, n_pooled), dtype=np.float32)
        batch_role = np.argpartition(keys, n_batch - 1, axis=1)[:, :n_batch]
        np.put_along_axis(W[1:], batch_role, -1.0 / n_batch, axis=1)
    return W


def mmd2_all(
    K_rr: _FloatArray, K_rb: _FloatArray, K_bb: _FloatArray, W: _FloatArray
) -> _FloatArray:
    """The biased MMD² ``wᵀ K w`` of every row of ``W`` without forming the pooled ``K``.

    With ``W = [W_r | W_b]`` split at the reference/batch boundary,
    ``wᵀKw = w_rᵀK_rr w_r + 2 w_bᵀK_brw_r + w_bᵀK_bb w_b``, so the products cost
    one pass over each kernel block and the reference block is never copied.

    Args:
        K_rr: (n_ref, n_ref) reference-reference kernel block.
        K_rb: (n_ref, n) reference-batch kernel block.
        K_bb: (n, n) batch-batch kernel block.
        W: (m, n_ref + n) weights, one split per row.

    Returns:
        (m,) float64 MMD² values, one per row of ``W``.
    """
    n_ref = K_rr.shape[0]
    # Contiguous halves let BLAS stream them; a strided view runs about 2x slower.
    W_r, W_b = np.ascontiguousarray(W[:, :n_ref]), np.ascontiguousarray(W[:, n_ref:])
    total = np.einsum("ij,ij->i", W_r @ K_rr, W_r, dtype=np.float64)
    total += 2.0 * np.einsum("ij,ij->i", W_r @ K_rb, W_b, dtype=np.float64)
    total += np.einsum("ij,ij->i", W_b @ K_bb, W_b, dtype=np.float64)
    result: _FloatArray = total
    return result
