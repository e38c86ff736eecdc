"""The pydantic base of every public model: validation errors become InvalidInputError.

>>> class Point(Model):
...     x: int
>>> Point(x="nope")
Traceback (most recent call last):
InvalidInputError: Point: x: Input should be a valid integer ...
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from .errors import InvalidInputError

if TYPE_CHECKING:
    from typing_extensions import Self


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
    def parse(cls, data: Any) -> Self:
        """``model_validate`` with the same typed error (field names must be strings)."""
        if isinstance(data, Mapping):
            bad = [k for k in data if not isinstance(k, str)]
            if bad:
                raise InvalidInputError(f"{cls.__name__}: field names must be strings, got {bad[0]!r}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InvalidInputError(describe_validation(cls.__name__, exc), errors=exc.errors()) from None


def utc(moment: datetime) -> datetime:
    """Any datetime -> the same instant as aware UTC; a naive one is local time, as Python reads it
    (``datetime.astimezone()``), so ``datetime.now() + timedelta(seconds=30)`` stays 30 s from now.

        >>> utc(datetime(2025, 6, 1, 12, tzinfo=timezone(timedelta(hours=2))))
        datetime.datetime(2025, 6, 1, 10, 0, tzinfo=datetime.timezone.utc)
    """
    try:
        return moment.astimezone(timezone.utc)
    except (OverflowError, OSError, ValueError):  # year 1 or 9999 shifted out of datetime's range
        raise ValueError(f"{moment!r} is out of the range of datetimes in UTC") from None


#: A model's datetime field that a caller may set: held (and so stored and returned) as aware UTC.
UtcDatetime = Annotated[datetime, AfterValidator(utc)]
