"""The process's local time zone set for a test: naive datetimes are local time to the library.

>>> with local_zone(EAST_OF_UTC):
...     assert datetime.now().astimezone().utcoffset() == EAST_OFFSET
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

#: A POSIX zone five and a half hours east of UTC (no DST, needs no tz database): far enough
#: from the test host's own zone that reading a naive time as UTC instead would show.
EAST_OF_UTC = "IST-5:30"
EAST_OFFSET = timedelta(hours=5, minutes=30)


@contextlib.contextmanager
def local_zone(zone: str) -> Iterator[None]:
    """``TZ=zone`` for the block (``time.tzset``), the previous zone put back after it."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def naive_datetimes(value: object, path: str = "$") -> list[str]:
    """Where in a returned value (models, dicts, lists) a datetime is not aware UTC."""
    if isinstance(value, datetime):
        return [] if value.tzinfo is timezone.utc else [f"{path} = {value!r}"]
    fields = getattr(type(value), "model_fields", None)
    if fields is not None:
        return [p for name in fields for p in naive_datetimes(getattr(value, name), f"{path}.{name}")]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in naive_datetimes(v, f"{path}[{k!r}]")]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in naive_datetimes(v, f"{path}[{i}]")]
    return []
