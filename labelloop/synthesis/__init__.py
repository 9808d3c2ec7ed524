"""Membership-query synthesis: augmented variants of known images, kept when the model is unsure.

Make variants with :func:`generate_variants`, score them and their sources with
the current learner, and pick the queries with :func:`select_queries`. Each
variant's :class:`Provenance` rebuilds its exact pixels from the source image.
"""

from typing import TYPE_CHECKING

from labelloop._lazy import lazy_exports

if TYPE_CHECKING:
    from labelloop.synthesis.config import SynthesisConfig
    from labelloop.synthesis.errors import (
        InvalidParamsError,
        SynthesisError,
        SynthesisInputError,
        UnknownTransformError,
    )
    from labelloop.synthesis.generate import generate_variants, source_rows
    from labelloop.synthesis.provenance import Provenance
    from labelloop.synthesis.selection import (
        QUERY_MODES,
        UNCERTAINTY_NAMES,
        QueryMode,
        UncertaintyName,
        prediction_flips,
        select_queries,
        uncertainty_scores,
    )
    from labelloop.synthesis.transforms import (
        MIN_IMAGE_SIDE,
        TRANSFORM_NAMES,
        Params,
        TransformName,
        TransformRanges,
        apply_transform,
        apply_transform_batch,
        sample_params,
    )

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SynthesisConfig": "labelloop.synthesis.config",
        "InvalidParamsError": "labelloop.synthesis.errors",
        "SynthesisError": "labelloop.synthesis.errors",
        "SynthesisInputError": "labelloop.synthesis.errors",
        "UnknownTransformError": "labelloop.synthesis.errors",
        "generate_variants": "labelloop.synthesis.generate",
        "source_rows": "labelloop.synthesis.generate",
        "Provenance": "labelloop.synthesis.provenance",
        "QUERY_MODES": "labelloop.synthesis.selection",
        "UNCERTAINTY_NAMES": "labelloop.synthesis.selection",
        "QueryMode": "labelloop.synthesis.selection",
        "UncertaintyName": "labelloop.synthesis.selection",
        "prediction_flips": "labelloop.synthesis.selection",
        "select_queries": "labelloop.synthesis.selection",
        "uncertainty_scores": "labelloop.synthesis.selection",
        "MIN_IMAGE_SIDE": "labelloop.synthesis.transforms",
        "TRANSFORM_NAMES": "labelloop.synthesis.transforms",
        "Params": "labelloop.synthesis.transforms",
        "TransformName": "labelloop.synthesis.transforms",
        "TransformRanges": "labelloop.synthesis.transforms",
        "apply_transform": "labelloop.synthesis.transforms",
        "apply_transform_batch": "labelloop.synthesis.transforms",
        "sample_params": "labelloop.synthesis.transforms",
    },
)

__all__ = [
    "MIN_IMAGE_SIDE",
    "QUERY_MODES",
    "TRANSFORM_NAMES",
    "UNCERTAINTY_NAMES",
    "InvalidParamsError",
    "Params",
    "Provenance",
    "QueryMode",
    "SynthesisConfig",
    "SynthesisError",
    "SynthesisInputError",
    "TransformName",
    "TransformRanges",
    "UncertaintyName",
    "UnknownTransformError",
    "apply_transform",
    "apply_transform_batch",
    "generate_variants",
    "prediction_flips",
    "sample_params",
    "select_queries",
    "source_rows",
    "uncertainty_scores",
]
