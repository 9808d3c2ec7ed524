"""The ML-backend protocol, answered for one open project: setup, predict, webhooks.

Tasks are linked to pool items (imported on first sight); predictions carry
the latest ranking as scores; annotations arriving by webhook become label
events, linked to the event they wrote so that a webhook sent twice writes once.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from labelloop.data.formats.labelstudio import image_file_name
from labelloop.data.images import ImageFileError
from labelloop.data.labels import InvalidLabelError
from labelloop.loop.labelstudio.client import (
    CONNECTION_FILE,
    SYSTEM,
    Connection,
    LabelStudioClient,
)
from labelloop.loop.labelstudio.config import LabelConfig, parse_label_config, parsed_config
from labelloop.loop.labelstudio.convert import (
    annotation_digest,
    results_to_value,
    value_to_results,
)
from labelloop.loop.labelstudio.errors import LabelStudioError
from labelloop.loop.workspace import Workspace
from labelloop.store import Item

__all__ = ["MAX_IMAGE_BYTES", "UNRANKED_SCORE", "LabelStudioBridge", "after_round"]

log = logging.getLogger("labelloop.labelstudio")

MAX_IMAGE_BYTES = 20 * 1024 * 1024
UNRANKED_SCORE = 1.0
"""The score of a task the latest ranking does not hold (new since): served after ranked ones."""


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
            return parsed_config(conn.label_config)
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
