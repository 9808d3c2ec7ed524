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
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
import urllib.error
import urllib.request
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from labelloop.data.formats.labelstudio import image_file_name
from labelloop.data.images import ImageFileError
from labelloop.data.labels import InvalidLabelError, LabelSchema
from labelloop.errors import LabelloopError
from labelloop.loop.workspace import Workspace
from labelloop.store import ExternalSource, Item

__all__ = [
    "CONNECTION_FILE",
    "SYSTEM",
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

log = logging.getLogger("labelloop.labelstudio")

SYSTEM = "labelstudio"
CONNECTION_FILE = "labelstudio.json"
"""The project folder's record of its Label Studio (URL, token, project): owner-only."""

MAX_CONFIG_CHARS = 100_000
MAX_IMAGE_BYTES = 20 * 1024 * 1024
UNRANKED_SCORE = 1.0
"""The score of a task the latest ranking does not hold (new since): served after ranked ones."""

_KINDS = {"Choices": "classification", "RectangleLabels": "detection"}
_RESULT_TYPES = {"classification": "choices", "detection": "rectanglelabels"}


class LabelStudioError(LabelloopError, ValueError):
    """Label Studio sent something labelloop cannot use, or could not be reached."""


# --- label config -------------------------------------------------------------


@dataclass(frozen=True)
class LabelConfig:
    """What a Label Studio label config asks for, as labelloop needs it.

    Attributes:
        task: ``classification`` (a ``Choices`` tag) or ``detection``
            (``RectangleLabels``).
        from_name: the control tag's ``name`` (results carry it).
        to_name: the ``Image`` tag it labels.
        data_key: the task data field holding the image URL (``$image``: ``image``).
        classes: the class names, in the config's order.
    """

    task: str
    from_name: str
    to_name: str
    data_key: str
    classes: tuple[str, ...]

    def check(self, schema: LabelSchema) -> None:
        """Refuse a config whose task or classes differ from the project's.

        Raises:
            LabelStudioError: with what differs and how to make them agree.
        """
        if self.task != schema.task:
            tag = "Choices" if schema.task == "classification" else "RectangleLabels"
            raise LabelStudioError(
                f"the Label Studio project labels {self.task} but the labelloop project is "
                f"{schema.task}: use a label config with a <{tag}> tag on the image"
            )
        if set(self.classes) != set(schema.classes):
            missing = sorted(set(schema.classes) - set(self.classes))
            extra = sorted(set(self.classes) - set(schema.classes))
            parts = []
            if missing:
                parts.append(f"missing in Label Studio: {', '.join(missing)}")
            if extra:
                parts.append(f"unknown to labelloop: {', '.join(extra)}")
            raise LabelStudioError(
                f"the classes differ ({'; '.join(parts)}); make the label config's "
                f"<{'Choice' if self.task == 'classification' else 'Label'}> values exactly "
                f"the project's classes: {', '.join(schema.classes)}"
            )


def parse_label_config(xml: str) -> LabelConfig:
    """The image, control tag and classes of a Label Studio label config.

    Raises:
        LabelStudioError: the config is not XML, has no image, or has no or
            several ``Choices``/``RectangleLabels`` tags.
    """
    if not isinstance(xml, str) or not xml.strip():
        raise LabelStudioError("the label config is empty; send the project's label config XML")
    if len(xml) > MAX_CONFIG_CHARS:
        raise LabelStudioError(f"the label config is over {MAX_CONFIG_CHARS} characters")
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        raise LabelStudioError("label configs with a DOCTYPE or entities are not accepted")
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise LabelStudioError(f"the label config is not well-formed XML: {exc}") from None
    images = {
        tag.get("name"): (tag.get("value") or "").lstrip("$")
        for tag in root.iter("Image")
        if tag.get("name")
    }
    controls = [tag for tag in root.iter() if tag.tag in _KINDS]
    if not images:
        raise LabelStudioError("the label config has no <Image> tag; labelloop labels images")
    if len(controls) != 1:
        raise LabelStudioError(
            f"the label config needs exactly one <Choices> or <RectangleLabels> tag, "
            f"found {len(controls)}"
        )
    control = controls[0]
    to_name = control.get("toName") or ""
    if to_name not in images or not images[to_name]:
        raise LabelStudioError(
            f"<{control.tag} toName={to_name!r}> does not name an <Image> with a $value"
        )
    child = "Choice" if control.tag == "Choices" else "Label"
    classes = tuple(tag.get("value") or "" for tag in control.iter(child))
    if not classes or "" in classes:
        raise LabelStudioError(f"<{control.tag}> needs <{child} value=...> children")
    return LabelConfig(
        task=_KINDS[control.tag],
        from_name=control.get("name") or "",
        to_name=to_name,
        data_key=images[to_name],
        classes=classes,
    )


# --- results <-> label values ----------------------------------------------------


def results_to_value(
    results: Any, config: LabelConfig, width: int, height: int
) -> str | list[dict[str, object]] | None:
    """A Label Studio annotation's result as a labelloop label value.

    Only results of the config's control tag count. Classification: the one
    chosen class (None when nothing is chosen). Detection: the boxes in
    pixels of the ``width`` x ``height`` image (an empty list: no objects).

    Raises:
        LabelStudioError: several choices, a rotated box, or numbers missing.
    """
    if not isinstance(results, list):
        raise LabelStudioError("the annotation's result is not a list")
    mine = [
        r
        for r in results
        if isinstance(r, dict)
        and r.get("from_name") == config.from_name
        and r.get("type") == _RESULT_TYPES[config.task]
    ]
    if config.task == "classification":
        chosen = [c for r in mine for c in (r.get("value") or {}).get("choices") or []]
        if not chosen:
            return None
        if len(chosen) > 1 or not isinstance(chosen[0], str):
            raise LabelStudioError(
                f"an image takes one class, the annotation chose {chosen!r}; "
                "set choice='single' on the <Choices> tag"
            )
        return chosen[0]
    boxes: list[dict[str, object]] = []
    for r in mine:
        value = r.get("value") or {}
        names = value.get("rectanglelabels") or []
        numbers = [value.get(k) for k in ("x", "y", "width", "height")]
        if len(names) != 1 or not all(isinstance(n, int | float) for n in numbers):
            raise LabelStudioError(
                f"a rectangle needs x, y, width, height and one label, got {value!r}"
            )
        if value.get("rotation") not in (None, 0, 0.0):
            raise LabelStudioError(
                "a rectangle is rotated; labelloop boxes are axis-aligned: unrotate it"
            )
        x, y, w, h = (float(n) for n in numbers if isinstance(n, int | float))
        # Label Studio lets a box's edge reach a hair past the image; keep it inside.
        left, top = max(0.0, x / 100 * width), max(0.0, y / 100 * height)
        right, bottom = min(width, (x + w) / 100 * width), min(height, (y + h) / 100 * height)
        if right <= left or bottom <= top:
            raise LabelStudioError(f"a rectangle lies outside the image: {value!r}")
        boxes.append(
            {"x": left, "y": top, "width": right - left, "height": bottom - top, "label": names[0]}
        )
    return boxes


def value_to_results(
    value: Any, config: LabelConfig, width: int, height: int
) -> list[dict[str, object]]:
    """A labelloop label value (or a model's guess) as Label Studio results.

    Boxes may carry a ``score`` (the model's confidence in each), kept per region.
    """
    base = {"from_name": config.from_name, "to_name": config.to_name}
    if config.task == "classification":
        if not isinstance(value, str):
            return []
        return [base | {"type": "choices", "value": {"choices": [value]}}]
    results: list[dict[str, object]] = []
    for number, box in enumerate(value or []):
        result: dict[str, object] = base | {
            "id": f"b{number}",
            "type": "rectanglelabels",
            "original_width": width,
            "original_height": height,
            "image_rotation": 0,
            "value": {
                "x": float(box["x"]) / width * 100,
                "y": float(box["y"]) / height * 100,
                "width": float(box["width"]) / width * 100,
                "height": float(box["height"]) / height * 100,
                "rotation": 0,
                "rectanglelabels": [box["label"]],
            },
        }
        if "score" in box:
            result["score"] = float(box["score"])
        results.append(result)
    return results


def annotation_digest(annotation: Mapping[str, Any]) -> str:
    """A hash of what an annotation says (its result and whether it was skipped)."""
    content = {
        "result": annotation.get("result"),
        "cancelled": bool(annotation.get("was_cancelled")),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


# --- the connection and Label Studio's API ----------------------------------------------


@dataclass
class Connection:
    """Which Label Studio a project works with: saved in the project folder, owner-only.

    Attributes:
        url: Label Studio's base URL (``http://host:8080``).
        token: an API token of a Label Studio user who may change the project.
        project: the Label Studio project id.
        label_config: the project's label config XML, as last sent.
    """

    url: str
    token: str
    project: int
    label_config: str = ""

    @classmethod
    def load(cls, root: Path) -> Connection | None:
        """The saved connection, or None when the project has none (or it is unreadable)."""
        path = root / CONNECTION_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                url=str(data["url"]),
                token=str(data["token"]),
                project=int(data["project"]),
                label_config=str(data.get("label_config", "")),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring %s: %s", path, exc)
            return None

    def save(self, root: Path) -> None:
        """Write the file atomically, readable by its owner only (it holds a token)."""
        path = root / CONNECTION_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(asdict(self), out, indent=1)
        os.replace(tmp, path)

    @property
    def source(self) -> ExternalSource:
        """The key links of this Label Studio project are stored under."""
        return ExternalSource(SYSTEM, str(self.project))


class LabelStudioClient:
    """The few calls of Label Studio's REST API labelloop makes (token auth, JSON)."""

    def __init__(self, url: str, token: str, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One JSON call; :class:`LabelStudioError` with Label Studio's answer on failure."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as answer:
                text = answer.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode(errors="replace")
            raise LabelStudioError(
                f"Label Studio answered {exc.code} to {method} {path}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise LabelStudioError(f"cannot reach Label Studio at {self.url}: {exc}") from None
        return json.loads(text) if text else None

    def fetch(self, url: str, limit: int) -> bytes:
        """Bytes of a file Label Studio serves (or any http(s) URL), at most ``limit``.

        The token is sent only to Label Studio itself.
        """
        parts = urlsplit(url)
        if not parts.scheme:
            url = self.url + url
            parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise LabelStudioError(f"cannot fetch {url!r}: only http(s) URLs are fetched")
        headers = {}
        if url.startswith(self.url + "/"):
            headers["Authorization"] = f"Token {self.token}"
        req = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as answer:
                data = answer.read(limit + 1)
        except urllib.error.HTTPError as exc:
            raise LabelStudioError(f"fetching {url} failed: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise LabelStudioError(f"fetching {url} failed: {exc}") from None
        if len(data) > limit:
            raise LabelStudioError(f"{url} is larger than {limit} bytes")
        return bytes(data)

    def tasks(self, project: int, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every task of a project, page by page."""
        page = 1
        while True:
            try:
                answer = self.request(
                    "GET", f"/api/tasks?project={project}&page={page}&page_size={page_size}"
                )
            except LabelStudioError as exc:
                if "404" in str(exc):  # past the last page
                    return
                raise
            tasks = answer.get("tasks", []) if isinstance(answer, dict) else answer
            if not tasks:
                return
            yield from tasks
            if isinstance(answer, dict) and page * page_size >= int(answer.get("total", 0)):
                return
            page += 1


# --- the bridge ------------------------------------------------------------------------


@dataclass
class LabelStudioBridge:
    """Answers Label Studio's ML-backend calls for one open project.

    Args:
        ws: the open project.
        files_root: the folder Label Studio serves local files from
            (``LOCAL_FILES_DOCUMENT_ROOT``); local-files URLs are read there
            directly instead of fetched.
        max_image_bytes: the largest image fetched.
    """

    ws: Workspace
    files_root: Path | None = None
    max_image_bytes: int = MAX_IMAGE_BYTES
    _users: dict[int, str] = field(default_factory=dict)
    _loaded: tuple[tuple[int, int] | None, Connection | None] = (None, None)

    # the connection ---------------------------------------------------------------

    @property
    def connection(self) -> Connection | None:
        """The project's saved Label Studio connection, read again only when the file changed
        (a predict call over many tasks asks for it once per task)."""
        try:
            stat = (self.ws.root / CONNECTION_FILE).stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp is None or stamp != self._loaded[0]:
            self._loaded = (stamp, None if stamp is None else Connection.load(self.ws.root))
        return self._loaded[1]

    def label_config(self) -> LabelConfig:
        """The connected project's label config (or one derived from the classes)."""
        conn = self.connection
        if conn is not None and conn.label_config:
            return _parsed_config(conn.label_config)
        schema = self.ws.config.label_schema()
        return LabelConfig(schema.task, "label", "image", "image", schema.classes)

    def model_version(self) -> str:
        """The version predictions of the latest ranking carry: ``labelloop-round-N``."""
        rounds = self.ws.store.rounds(self.ws.project.id)
        return f"labelloop-round-{rounds[-1].number}" if rounds else "labelloop-round-0"

    def health(self) -> dict[str, object]:
        """``GET /health``."""
        return {"status": "UP", "model_class": "labelloop", "model_version": self.model_version()}

    def setup(self, body: Mapping[str, Any]) -> dict[str, object]:
        """``POST /setup``: check the label config and remember the Label Studio project.

        Raises:
            LabelStudioError: the config's task or classes differ from the project's,
                or another Label Studio project is already connected.
        """
        config = parse_label_config(body.get("schema", ""))
        config.check(self.ws.config.label_schema())
        project = _ls_project(body.get("project"))
        conn = self.connection
        if conn is not None and conn.project != project:
            raise LabelStudioError(
                f"this labelloop project is connected to Label Studio project {conn.project}, "
                f"not {project}; one labelloop project serves one Label Studio project"
            )
        url = str(body.get("hostname") or (conn.url if conn else "")).rstrip("/")
        token = str(body.get("access_token") or (conn.token if conn else ""))
        if conn is None or conn.label_config != body.get("schema"):
            # ls-connect's URL and token win over what Label Studio reports of itself.
            keep = conn or Connection(url=url, token=token, project=project)
            keep.label_config = str(body.get("schema"))
            keep.save(self.ws.root)
        return {"model_version": self.model_version()}

    # tasks and items --------------------------------------------------------------

    def item_for_task(self, task: Mapping[str, Any]) -> Item:
        """The pool item of a task: linked before, or its image imported now.

        Raises:
            LabelStudioError: the task has no image, or it cannot be read.
        """
        conn = self._require_connection()
        task_id = _task_id(task)
        pid = self.ws.project.id
        known = self.ws.store.external.task_items(pid, conn.source, [task_id])
        if task_id in known:
            return self.ws.store.item(pid, known[task_id])
        config = self.label_config()
        data = task.get("data")
        url = data.get(config.data_key) if isinstance(data, dict) else None
        if not isinstance(url, str) or not url:
            raise LabelStudioError(f"task {task_id} has no data.{config.data_key} image URL")
        item = self._import(url, conn)
        linked = self.ws.store.external.link_task(pid, conn.source, task_id, item.id)
        return item if linked == item.id else self.ws.store.item(pid, linked)

    def _import(self, url: str, conn: Connection) -> Item:
        name = PurePosixPath(image_file_name(url)).name or "image"
        local = self._local_file(url)
        with tempfile.TemporaryDirectory() as tmp:
            if local is None:
                client = LabelStudioClient(conn.url, conn.token)
                path = Path(tmp) / "image"
                path.write_bytes(client.fetch(url, self.max_image_bytes))
            else:
                path = local
            try:
                item, _new = self.ws.add_file(path, name)
            except ImageFileError as exc:
                raise LabelStudioError(f"the image of {url} is not usable: {exc.reason}") from None
        return item

    def _local_file(self, url: str) -> Path | None:
        """A local-files URL's file under ``files_root``, if it is one (and stays inside)."""
        if self.files_root is None:
            return None
        parts = urlsplit(url)
        wanted = parse_qs(parts.query).get("d")
        if not parts.path.endswith("/data/local-files/") or not wanted:
            return None
        root = self.files_root.resolve()
        path = (root / unquote(wanted[0])).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise LabelStudioError(f"{url} is not a file under {root}")
        return path

    def _require_connection(self) -> Connection:
        conn = self.connection
        if conn is None:
            raise LabelStudioError(
                "no Label Studio project is connected yet: add labelloop as the project's "
                "ML backend (or run labelloop ls-connect) first"
            )
        return conn

    # predictions --------------------------------------------------------------------

    def predict(self, body: Mapping[str, Any]) -> dict[str, object]:
        """``POST /predict``: one prediction per task, its score the task's place in the ranking.

        A task whose image cannot be read still gets a prediction (empty
        result, served last), so Label Studio can match answers to tasks.
        """
        tasks = body.get("tasks")
        if not isinstance(tasks, list):
            raise LabelStudioError("predict needs a list of tasks")
        items: list[Item | None] = []
        for task in tasks:
            try:
                items.append(self.item_for_task(task if isinstance(task, dict) else {}))
            except LabelStudioError as exc:
                log.warning("predict: %s", exc)
                items.append(None)
        return {"results": self._predictions([i for i in items if i is not None], items)}

    def _predictions(
        self, known: Sequence[Item], items: Sequence[Item | None]
    ) -> list[dict[str, object]]:
        config = self.label_config()
        view = self.ws.store.ranking_view(self.ws.project.id, [i.id for i in known])
        version = self.model_version()
        out: list[dict[str, object]] = []
        for item in items:
            entry = None if item is None else view.entries.get(item.id)
            result: list[dict[str, object]] = []
            if item is not None and entry is not None and entry.predicted is not None:
                guess: Any = entry.predicted
                if config.task == "detection":
                    try:
                        guess = json.loads(entry.predicted)
                    except ValueError:
                        guess = []
                result = value_to_results(guess, config, item.width, item.height)
            score = UNRANKED_SCORE if entry is None else entry.score
            out.append({"result": result, "score": score, "model_version": version})
        return out

    def push_predictions(self) -> int:
        """Send the latest ranking to Label Studio as predictions of every linked task.

        Then set the project's ``model_version`` to this round's, so its
        uncertainty sampling serves this ranking. Returns the number sent.
        """
        conn = self._require_connection()
        pid = self.ws.project.id
        links = self.ws.store.external.task_items(pid, conn.source)
        if not links:
            return 0
        client = LabelStudioClient(conn.url, conn.token)
        version = self.model_version()
        task_ids = sorted(links)
        by_id = {item.id: item for item in self.ws.store.items(pid)}  # one query, not one per task
        for start in range(0, len(task_ids), 500):
            chunk = task_ids[start : start + 500]
            items = [by_id[links[t]] for t in chunk]
            predictions = self._predictions(items, items)
            payload = [p | {"task": t} for t, p in zip(chunk, predictions, strict=True)]
            client.request("POST", f"/api/projects/{conn.project}/import/predictions", payload)
        client.request("PATCH", f"/api/projects/{conn.project}", {"model_version": version})
        log.info("sent %d predictions of %s to Label Studio", len(task_ids), version)
        return len(task_ids)

    # annotations -----------------------------------------------------------------------

    def webhook(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /webhook``: annotations become label events; returns what happened.

        The answer's ``train`` is True for ``START_TRAINING``.
        """
        action = str(body.get("action", ""))
        outcome: dict[str, Any] = {"action": action, "recorded": 0, "unchanged": 0, "undone": 0}
        if action == "START_TRAINING":
            return outcome | {"train": True}
        if action not in (
            "ANNOTATION_CREATED",
            "ANNOTATIONS_CREATED",
            "ANNOTATION_UPDATED",
            "ANNOTATIONS_DELETED",
        ):
            return outcome | {"ignored": True}
        conn = self._require_connection()
        project = body.get("project")
        ls_project = project.get("id") if isinstance(project, dict) else None
        if ls_project is not None and ls_project != conn.project:
            return outcome | {"ignored": True}
        if action == "ANNOTATIONS_DELETED":
            for annotation in _as_list(body.get("annotations")):
                done, _ = self.ws.store.external.delete_annotation(
                    self.ws.project.id, conn.source, _annotation_id(annotation), annotator=SYSTEM
                )
                outcome["undone"] += done == "undone"
            return outcome
        tasks = {t.get("id"): t for t in _as_list(body.get("task")) if isinstance(t, dict)}
        for annotation in _as_list(body.get("annotation")):
            task = tasks.get(annotation.get("task")) or {"id": annotation.get("task")}
            what = self._annotation(annotation, task, conn)
            outcome[what] = outcome.get(what, 0) + 1
        return outcome

    def _annotation(
        self, annotation: Mapping[str, Any], task: Mapping[str, Any], conn: Connection
    ) -> str:
        store = self.ws.store.external
        pid = self.ws.project.id
        annotation_id = _annotation_id(annotation)
        if annotation.get("was_cancelled"):  # skipped in Label Studio: nothing to learn
            done, _ = store.delete_annotation(pid, conn.source, annotation_id, annotator=SYSTEM)
            return done
        item = self.item_for_task(task)
        value = results_to_value(
            annotation.get("result"), self.label_config(), item.width, item.height
        )
        if value is None:
            return "unchanged"
        try:
            done, _ = store.record_annotation(
                pid,
                conn.source,
                annotation_id,
                item.id,
                value,
                digest=annotation_digest(annotation),
                annotator=self._annotator(annotation.get("completed_by"), conn),
            )
        except InvalidLabelError as exc:
            raise LabelStudioError(f"annotation {annotation_id}: {exc}") from None
        return done

    def _annotator(self, who: Any, conn: Connection) -> str:
        """``labelstudio:<email>`` of a Label Studio user (its id when the API will not say)."""
        if isinstance(who, dict):
            who = who.get("email") or who.get("id")
        if isinstance(who, str):
            return f"{SYSTEM}:{who}"
        if not isinstance(who, int):
            return SYSTEM
        if who not in self._users:
            try:
                user = LabelStudioClient(conn.url, conn.token, timeout=10).request(
                    "GET", f"/api/users/{who}"
                )
                self._users[who] = str(user.get("email") or f"user-{who}")
            except (LabelStudioError, AttributeError):
                self._users[who] = f"user-{who}"
        return f"{SYSTEM}:{self._users[who]}"


def _as_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _task_id(task: Mapping[str, Any]) -> int:
    task_id = task.get("id")
    if not isinstance(task_id, int) or isinstance(task_id, bool) or task_id < 1:
        raise LabelStudioError(f"a task needs a positive integer id, got {task_id!r}")
    return task_id


def _annotation_id(annotation: Mapping[str, Any]) -> int:
    value = annotation.get("id")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise LabelStudioError(f"an annotation needs a positive integer id, got {value!r}")
    return value


def _ls_project(uid: Any) -> int:
    """Label Studio's project id from its ``"<id>.<created epoch>"`` uid."""
    try:
        return int(str(uid).split(".")[0])
    except ValueError:
        raise LabelStudioError(f"project {uid!r} is not Label Studio's '<id>.<epoch>'") from None


@lru_cache(maxsize=8)
def _parsed_config(xml: str) -> LabelConfig:
    """:func:`parse_label_config`, once per config text."""
    return parse_label_config(xml)


def basic_auth_header(user: str, secret: str) -> str:
    """The ``Authorization`` value of HTTP basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def after_round(ws: Workspace, log_error: Callable[[str], None] | None = None) -> int | None:
    """Push the new ranking to the connected Label Studio, if the project has one.

    A Label Studio that cannot be reached is logged, never fails the round.
    """
    if Connection.load(ws.root) is None:
        return None
    try:
        return LabelStudioBridge(ws).push_predictions()
    except (LabelStudioError, OSError) as exc:
        (log_error or log.warning)(f"could not send the ranking to Label Studio: {exc}")
        return None


@dataclass
class ConnectReport:
    """What :func:`connect` did."""

    linked: int = 0
    failed: list[str] = field(default_factory=list)
    backend_id: int | None = None
    webhooks_secured: int = 0
    training: dict[str, Any] | None = None


def connect(
    ws: Workspace,
    client: LabelStudioClient,
    ls_project: int,
    backend_url: str,
    *,
    secret: str | None = None,
    files_root: Path | None = None,
    on_task: Callable[[], None] | None = None,
) -> ConnectReport:
    """Make a running ``labelloop serve --label-studio`` the ML backend of a Label Studio project.

    Steps (each safe to repeat): check the project's label config against
    this project; save the connection; link every task to a pool item
    (importing new images); add (or update) the ML backend with basic auth
    when ``secret`` is set and put the same header on its webhook; set the
    project's sampling to uncertainty; ask the backend to train, so that the
    round's ranking reaches Label Studio as predictions.

    Raises:
        LabelStudioError: Label Studio refused a step, or the configs differ.
    """
    project = client.request("GET", f"/api/projects/{ls_project}")
    config_xml = str(project.get("label_config", ""))
    parse_label_config(config_xml).check(ws.config.label_schema())
    Connection(client.url, client.token, ls_project, config_xml).save(ws.root)
    report = ConnectReport()
    bridge = LabelStudioBridge(ws, files_root=files_root)
    for task in client.tasks(ls_project):
        try:
            bridge.item_for_task(task)
            report.linked += 1
        except LabelStudioError as exc:
            report.failed.append(f"task {task.get('id')}: {exc}")
        if on_task is not None:
            on_task()
    backend_url = backend_url.rstrip("/")
    auth: dict[str, object] = {"auth_method": "NONE"}
    if secret:
        auth = {
            "auth_method": "BASIC_AUTH",
            "basic_auth_user": "labelloop",
            "basic_auth_pass": secret,
        }
    backends = client.request("GET", f"/api/ml?project={ls_project}") or []
    mine = [b for b in backends if str(b.get("url", "")).rstrip("/") == backend_url]
    if mine:
        backend = client.request("PATCH", f"/api/ml/{mine[0]['id']}", auth)
    else:
        backend = client.request(
            "POST",
            "/api/ml",
            {"url": backend_url, "project": ls_project, "title": "labelloop"}
            | auth
            | {"is_interactive": False},
        )
    report.backend_id = int(backend["id"])
    if backend.get("state") not in (None, "CO", "TR", "PR"):
        why = backend.get("error_message") or (
            "is labelloop serve --label-studio running there, with the same LABELLOOP_LS_SECRET?"
        )
        raise LabelStudioError(
            f"Label Studio cannot use the backend at {backend_url} "
            f"(state {backend.get('state')}): {why}"
        )
    if secret:
        header = basic_auth_header("labelloop", secret)
        for hook in client.request("GET", f"/api/webhooks?project={ls_project}") or []:
            if str(hook.get("url", "")).rstrip("/") == backend_url + "/webhook":
                headers = dict(hook.get("headers") or {}) | {"Authorization": header}
                client.request(
                    "PATCH", f"/api/webhooks/{hook['id']}", {"url": hook["url"], "headers": headers}
                )
                report.webhooks_secured += 1
    client.request("PATCH", f"/api/projects/{ls_project}", {"sampling": "Uncertainty sampling"})
    report.training = _post_train(backend_url, secret, client.timeout)
    return report


def _post_train(backend_url: str, secret: str | None, timeout: float) -> dict[str, Any]:
    """Ask the labelloop backend to start a round (its legacy ``/train``)."""
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["Authorization"] = basic_auth_header("labelloop", secret)
    req = urllib.request.Request(backend_url + "/train", data=b"{}", method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            result: dict[str, Any] = json.loads(answer.read())
            return result
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise LabelStudioError(f"cannot ask {backend_url} to train: {exc}") from None
