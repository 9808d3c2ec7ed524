"""Label values: the classes of a project and the shape of one image's label.

A classification label is one class name; a detection label is a list of
boxes (an empty list says "no objects", which is a label, not a missing one).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from labelloop.errors import LabelloopError

__all__ = ["Box", "InvalidLabelError", "LabelSchema", "TaskType", "UnknownClassError"]

TaskType = Literal["classification", "detection"]


class InvalidLabelError(LabelloopError, ValueError):
    """A label value of the wrong shape for the project's task."""


class UnknownClassError(InvalidLabelError):
    """A label names a class the project's schema does not have.

    Attributes:
        name: The unknown class.
        allowed: The schema's classes.
    """

    def __init__(self, name: str, allowed: tuple[str, ...]) -> None:
        super().__init__(
            f"Unknown class {name!r}; allowed classes are {', '.join(map(repr, allowed))}. "
            "Fix the label, or add the class to the project's schema."
        )
        self.name = name
        self.allowed = allowed

    def __reduce__(self) -> tuple[type[UnknownClassError], tuple[str, tuple[str, ...]]]:
        return type(self), (self.name, self.allowed)


class Box(BaseModel):
    """One object in a detection label, in pixels of the original image.

    Attributes:
        x: Left edge, from the image's left.
        y: Top edge, from the image's top.
        width: Width, above 0.
        height: Height, above 0.
        label: The object's class.
    """

    # Strict, so True or "3" is not taken for a coordinate; extra keys are typos.
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", allow_inf_nan=False)

    x: float = Field(ge=0)
    y: float = Field(ge=0)
    width: float = Field(gt=0)
    height: float = Field(gt=0)
    label: str


class LabelSchema(BaseModel):
    """The task of a project and its classes, in a fixed order.

    Attributes:
        task: ``"classification"`` (one class per image) or ``"detection"`` (boxes).
        classes: Class names; their order fixes the model's class indices.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: TaskType
    classes: tuple[str, ...]

    @field_validator("classes")
    @classmethod
    def _check_classes(cls, classes: tuple[str, ...]) -> tuple[str, ...]:
        if not classes:
            raise ValueError("a schema needs at least one class; list the class names")
        for name in classes:
            if not name.strip():
                raise ValueError(f"class names must not be empty or blank, got {name!r}")
            if name != name.strip():
                raise ValueError(
                    f"class name {name!r} has surrounding whitespace; write {name.strip()!r}"
                )
        repeated = sorted({name for name in classes if classes.count(name) > 1})
        if repeated:
            raise ValueError(f"class names must be unique; {repeated} appear more than once")
        return classes

    def class_index(self, name: str) -> int:
        """Position of a class, the index a model uses for it.

        Args:
            name: A class of this schema.

        Returns:
            Its index in :attr:`classes`.

        Raises:
            UnknownClassError: ``name`` is not one of :attr:`classes`.
        """
        try:
            return self.classes.index(name)
        except ValueError:
            raise UnknownClassError(name, self.classes) from None

    def validate_value(self, value: object) -> str | list[dict[str, object]]:
        """Checks a label value against the task and classes.

        Args:
            value: For classification, a class name. For detection, a list of
                boxes (:class:`Box` or dicts with ``x, y, width, height, label``),
                empty when the image has no objects.

        Returns:
            The canonical, JSON-ready value: the class name, or a list of box
            dicts with the keys ``x, y, width, height, label`` in that order and
            float coordinates.

        Raises:
            InvalidLabelError: The value has the wrong type or a box is malformed.
            UnknownClassError: The value names a class outside :attr:`classes`.
        """
        if self.task == "classification":
            if not isinstance(value, str):
                raise InvalidLabelError(
                    f"A classification label is one class name (str), got "
                    f"{type(value).__name__} {value!r}."
                )
            self.class_index(value)
            return value
        if not isinstance(value, list | tuple):
            raise InvalidLabelError(
                "A detection label is a list of boxes (empty for an image with no objects), "
                f"got {type(value).__name__} {value!r}."
            )
        boxes = [_as_box(item, position) for position, item in enumerate(value)]
        for box in boxes:
            self.class_index(box.label)
        return [box.model_dump() for box in boxes]


def _as_box(item: object, position: int) -> Box:
    if isinstance(item, Box):
        return item
    if not isinstance(item, dict):
        raise InvalidLabelError(
            f"Box {position} must be a Box or a dict with x, y, width, height, label; "
            f"got {type(item).__name__} {item!r}."
        )
    try:
        return Box.model_validate(item)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'box'}: {error['msg']}" for error in exc.errors()
        )
        raise InvalidLabelError(f"Box {position} is invalid: {problems}.") from exc
