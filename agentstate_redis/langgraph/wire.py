"""How a thread's records are spelled in Redis fields, and the scripts' flat replies parsed back.

    >>> nsid("child:1", "1ef...")          # 'child:1\\x001ef...'  (the checkpoint's field)
    >>> blob_field("", "messages", 3)       # '\\x00messages\\x003'
    >>> write_field("", "1ef...", "task-a", -1)

Parts are joined with NUL and lists with \\x01 (see lua/lib/lgthread.lua), so every part is
checked to hold no control character: :func:`text` raises InvalidInputError naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInputError
from ..keys import MAX_ID_LENGTH

SEP, LIST = "\x00", "\x01"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def text(what: str, value: Any, *, empty: bool = True) -> str:
    """``value`` as a usable part of a field: a str (ints and UUIDs are turned into one) of at most
    1024 characters without control characters."""
    if value is None or isinstance(value, bool) or (not isinstance(value, (str, int)) and not hasattr(value, "hex")):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    as_text = value if isinstance(value, str) else str(value)
    if not as_text and not empty:
        raise InvalidInputError(f"{what} must not be empty")
    if len(as_text) > MAX_ID_LENGTH:
        raise InvalidInputError(f"{what} is {len(as_text)} characters, the maximum is {MAX_ID_LENGTH}")
    if _CONTROL.search(as_text):
        raise InvalidInputError(f"{what} {as_text!r} contains a control character")
    return as_text


def nsid(ns: str, checkpoint_id: str) -> str:
    return f"{ns}{SEP}{checkpoint_id}"


def split_nsid(value: str) -> tuple[str, str]:
    ns, _, checkpoint_id = value.partition(SEP)
    return ns, checkpoint_id


def blob_field(ns: str, channel: str, version: Any) -> str:
    return f"{ns}{SEP}{channel}{SEP}{version}"


def blob_channel(field_: str) -> tuple[str, str]:
    """``<ns>\\0<channel>\\0<version>`` -> (channel, version)."""
    _, channel, version = field_.split(SEP, 2)
    return channel, version


def write_field(ns: str, checkpoint_id: str, task_id: str, idx: int) -> str:
    return f"{ns}{SEP}{checkpoint_id}{SEP}{task_id}{SEP}{idx}"


def write_value(task_path: str, channel: str, payload: str) -> str:
    return f"{task_path}{SEP}{channel}{SEP}{payload}"


@dataclass
class PendingWrite:
    task_id: str
    idx: int
    task_path: str
    channel: str
    payload: str

    @classmethod
    def parse(cls, field_: str, value: str) -> PendingWrite:
        _, _, task_id, idx = field_.split(SEP, 3)
        task_path, channel, payload = value.split(SEP, 2)
        return cls(task_id, int(idx), task_path, channel, payload)

    @property
    def sort_key(self) -> tuple[str, str, int]:
        return (self.task_path, self.task_id, self.idx)  # LangGraph's writes_sort_key


@dataclass
class StoredCheckpoint:
    """One checkpoint as a script replies it: payloads still serialized."""

    ns: str
    checkpoint_id: str
    checkpoint: str
    metadata: str
    parent_id: str
    blobs: list[tuple[str, str]] = field(default_factory=list)
    writes: list[PendingWrite] = field(default_factory=list)


def parse_tuples(reply: list[Any], start: int = 0) -> list[StoredCheckpoint]:
    """The tuples of a get / list / tuples reply, from index ``start`` on (see lgthread_tuple)."""
    out: list[StoredCheckpoint] = []
    i, n = start, len(reply)
    while i < n:
        ns, checkpoint_id = split_nsid(reply[i])
        item = StoredCheckpoint(ns, checkpoint_id, reply[i + 1], reply[i + 2], reply[i + 3])
        i += 4
        nblobs = int(reply[i])
        item.blobs = [(reply[j], reply[j + 1]) for j in range(i + 1, i + 1 + 2 * nblobs, 2)]
        i += 1 + 2 * nblobs
        nwrites = int(reply[i])
        item.writes = sorted(
            (PendingWrite.parse(reply[j], reply[j + 1]) for j in range(i + 1, i + 1 + 2 * nwrites, 2)),
            key=lambda w: w.sort_key,
        )
        i += 1 + 2 * nwrites
        out.append(item)
    return out


@dataclass
class IndexNeeds:
    """What a thread script asked the cross-thread indexes to be told (``''`` = nothing)."""

    deadline: int
    fields: list[str]

    @classmethod
    def parse(cls, reply: Any) -> IndexNeeds | None:
        if not reply:
            return None
        deadline, *fields = str(reply).split(LIST)
        return cls(int(deadline), fields)
