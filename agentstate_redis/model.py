"""The pydantic base of every public model: validation errors become InvalidInputError.

    >>> class Point(Model):
    ...     x: int
    >>> Point(x="nope")
    Traceback (most recent call last):
    InvalidInputError: Point: x: Input should be a valid integer ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import InvalidInputError


def describe_validation(name: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "value"
        parts.append(f"{where}: {err.get('msg')}")
    return f"{name}: " + "; ".join(parts)


class Model(BaseModel):
    """Strict-ish, copyable pydantic model; bad fields raise InvalidInputError."""

    # allow_inf_nan=False: a float field never holds NaN or an infinity (they are not JSON, and an
    # infinite duration would reach int()).
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False, allow_inf_nan=False)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidInputError(describe_validation(type(self).__name__, exc), errors=exc.errors()) from None

    @classmethod
    def parse(cls, data: Any) -> Any:
        """``model_validate`` with the same typed error (field names must be strings)."""
        if isinstance(data, Mapping):
            bad = [k for k in data if not isinstance(k, str)]
            if bad:
                raise InvalidInputError(f"{cls.__name__}: field names must be strings, got {bad[0]!r}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InvalidInputError(describe_validation(cls.__name__, exc), errors=exc.errors()) from None
