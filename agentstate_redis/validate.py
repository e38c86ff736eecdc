"""Checks of numeric settings and arguments, shared by every manager.

    >>> positive_number("lease", 30)
    30.0
    >>> integer("max_attempts", 0)
    Traceback (most recent call last):
    InvalidInputError: max_attempts must be an integer >= 1, got 0
"""

from __future__ import annotations

import math
from typing import Any

from .errors import InvalidInputError


def positive_number(what: str, value: Any, *, allow_zero: bool = False) -> float:
    """A finite number > 0 (>= 0 with ``allow_zero``), as a float; bools, NaN and infinities are refused."""
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
          and (value >= 0 if allow_zero else value > 0))
    if not ok:
        raise InvalidInputError(f"{what} must be a {'non-negative' if allow_zero else 'positive'} finite number, "
                                f"got {value!r}")
    return float(value)


def integer(what: str, value: Any, *, minimum: int = 1) -> int:
    """An int >= ``minimum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return value
