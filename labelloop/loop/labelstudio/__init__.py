"""Label Studio as labelloop's front end: the ML-backend protocol, spoken from the loop's side.

Label Studio (Community edition) serves its tasks in ascending order of
prediction ``score`` when a project's sampling is "Uncertainty sampling",
but only among predictions whose ``model_version`` equals the project's
``model_version``; otherwise it silently serves tasks at random. labelloop
fills that queue with its own active learning:

- **tasks are items.** Each Label Studio task is linked to the pool item
  holding its image (imported on first sight, deduplicated by content);
- **predictions carry the ranking.** A task's ``score`` is its place in the
  latest ranking, in (0, 1] (lower: serve sooner), whatever the strategy;
  the prediction's ``result`` is the model's guess (a choice, or boxes);
  the ``model_version`` names the round (``labelloop-round-N``). After every
  round the predictions of all linked tasks are pushed to Label Studio and
  the project's ``model_version`` is set to the round's, so its queue always
  follows the newest ranking (Label Studio keeps the older versions);
- **annotations are label events.** Created, updated and deleted
  annotations arrive by webhook and become a person's label, a correction,
  and an undo; each annotation is linked to the event it wrote, so a
  webhook sent twice writes once.

Boxes are ``rectanglelabels`` in percent of the image (top-left corner);
labelloop keeps pixels of the upright image, the size Label Studio shows.

The package: ``config`` reads a label config, ``convert`` turns results
into label values and back, ``client`` holds the saved connection and the
REST calls, ``backend`` answers the ML-backend protocol for one project
(:class:`LabelStudioBridge`, :func:`after_round`), and ``connect`` sets a
Label Studio project up to use it (``labelloop ls-connect``).
"""

from labelloop.loop.labelstudio.backend import (
    MAX_IMAGE_BYTES,
    UNRANKED_SCORE,
    LabelStudioBridge,
    after_round,
)
from labelloop.loop.labelstudio.client import (
    CONNECTION_FILE,
    SYSTEM,
    Connection,
    LabelStudioClient,
    basic_auth_header,
)
from labelloop.loop.labelstudio.config import MAX_CONFIG_CHARS, LabelConfig, parse_label_config
from labelloop.loop.labelstudio.connect import ConnectReport, connect
from labelloop.loop.labelstudio.convert import (
    annotation_digest,
    results_to_value,
    value_to_results,
)
from labelloop.loop.labelstudio.errors import LabelStudioError

__all__ = [
    "CONNECTION_FILE",
    "MAX_CONFIG_CHARS",
    "MAX_IMAGE_BYTES",
    "SYSTEM",
    "UNRANKED_SCORE",
    "ConnectReport",
    "Connection",
    "LabelConfig",
    "LabelStudioBridge",
    "LabelStudioClient",
    "LabelStudioError",
    "after_round",
    "annotation_digest",
    "basic_auth_header",
    "connect",
    "parse_label_config",
    "results_to_value",
    "value_to_results",
]
