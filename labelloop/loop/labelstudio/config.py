"""Label Studio's label config: which image, which control tag, which classes."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from functools import lru_cache

from labelloop.data.labels import LabelSchema
from labelloop.loop.labelstudio.errors import LabelStudioError

__all__ = ["MAX_CONFIG_CHARS", "LabelConfig", "parse_label_config", "parsed_config"]

MAX_CONFIG_CHARS = 100_000
_KINDS = {"Choices": "classification", "RectangleLabels": "detection"}


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


@lru_cache(maxsize=8)
def parsed_config(xml: str) -> LabelConfig:
    """:func:`parse_label_config`, once per config text."""
    return parse_label_config(xml)
