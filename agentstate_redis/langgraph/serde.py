"""LangGraph values as stored strings, through LangGraph's serializer and never through pickle.

    >>> text = dump(serde, {"messages": ["hi"]})     # 'msgpack:<bytes as latin-1 text>'
    >>> load(serde, text)
    {'messages': ['hi']}
    >>> load(serde, "pickle:...")                    # PickleRefusedError, whatever the serializer allows

A payload is ``<type>:<data>``: the serializer's type tag, then its bytes as latin-1 text (each byte
one code point, so any bytes survive the UTF-8 connection the backends use, and ASCII-heavy
msgpack grows little). Lua stores and returns it untouched. A type tag that is ``pickle`` (alone or
as the base of an encrypted tag such as ``pickle+aes``) is refused on the way in and on the way out:
unpickling stored data runs whatever code the data names.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError

EMPTY = "empty:"  # a channel in new_versions without a value (LangGraph's savers store ("empty", b""))


class PickleRefusedError(InvalidInputError):
    """A value could only be stored with pickle, or a stored payload asks to be unpickled."""


def _is_pickle(type_tag: str) -> bool:
    return type_tag.split("+", 1)[0] == "pickle"


def dump(serde: Any, value: Any, what: str = "value") -> str:
    type_tag, data = serde.dumps_typed(value)
    if _is_pickle(type_tag):
        raise PickleRefusedError(
            f"{what} of type {type(value).__name__} can only be stored with pickle, which this saver refuses",
            payload_type=type_tag,
        )
    return f"{type_tag}:{bytes(data).decode('latin-1')}"


def load(serde: Any, text: str, what: str = "payload") -> Any:
    type_tag, sep, data = text.partition(":")
    if not sep:
        raise InvalidInputError(f"stored {what} is not a typed payload")
    if _is_pickle(type_tag):
        raise PickleRefusedError(f"stored {what} asks to be unpickled ({type_tag!r}); refused", payload_type=type_tag)
    return serde.loads_typed((type_tag, data.encode("latin-1")))


def is_empty(text: str) -> bool:
    return text == EMPTY


def check_serializer(serde: Any) -> None:
    """Refuse a JsonPlusSerializer built with ``pickle_fallback=True`` (its whole point is pickle)."""
    inner = getattr(serde, "serde", serde)  # EncryptedSerializer wraps another one
    if getattr(inner, "pickle_fallback", False) or getattr(serde, "pickle_fallback", False):
        raise InvalidInputError("serde with pickle_fallback=True is refused: this saver never stores pickle")
