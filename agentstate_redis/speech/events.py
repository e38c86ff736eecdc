"""Typed speech-session change events, built from the raw events the scripts publish.

>>> def on_change(event: SpeechEvent):
...     for turn in event.turns: print(event.session_id, turn["role"], turn["content"])
>>> await speech_state.subscribe("call-*", on_change)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..codec import loads
from ..events import ChangeEvent
from .models import AudioSessionStatus


@dataclass(frozen=True)
class SpeechEvent:
    """One change to a speech session.

    ``op`` is ``create``, ``status``, ``update_stt``, ``update_tts``,
    ``conversation`` (``turns`` holds the transcript entries appended, numbered
    from ``first_turn``), ``end`` (``reason``) or ``expired`` (the session was
    idle for its idle timeout and is gone; ``version`` is None). ``omitted`` names the fields
    left out of an event larger than the backend's ``max_event_bytes`` (with their sizes in
    bytes): read the session with ``get_conversation_state`` for them.
    """

    session_id: str
    op: str
    version: int | None
    status: AudioSessionStatus | None = None
    turns: list[dict[str, Any]] = field(default_factory=list)
    first_turn: int | None = None
    turn_count: int | None = None
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    omitted: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_change(cls, event: ChangeEvent) -> SpeechEvent:
        d = event.data
        entries = d.get("entries")
        turns = [loads(e) for e in entries] if isinstance(entries, list) else []
        status = d.get("status")
        reason = d.get("reason")
        return cls(
            session_id=event.id,
            op=event.op,
            version=event.version,
            status=AudioSessionStatus(status) if status else None,
            turns=turns,
            first_turn=d.get("first_turn") if turns else None,
            turn_count=d.get("turn_count"),
            reason=loads(reason) if reason else None,
            data=d,
            omitted=event.omitted,
        )
