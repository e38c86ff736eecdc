"""SpeechStateManager: speech sessions that expire when idle, STT/TTS state, a capped transcript.

    >>> speech_state = SpeechStateManager(persistence="redis", idle_timeout=300)
    >>> sid = await speech_state.create_session("voice_conversation", StreamingMode.BIDIRECTIONAL,
    ...                                         {"language": "en-US"})
    >>> await speech_state.update_session_status(sid, AudioSessionStatus.ACTIVE)
    >>> await speech_state.add_turn(sid, "user", "Hello")
    1
    >>> await speech_state.end_session(sid, reason="user_ended")
    True

All of a session's keys share the tag ``{speech:<id>}`` (``lua/speech/``).
Every write is activity: it restarts the idle clock (PEXPIRE on every key of
the session, inside the script), so a session nobody touches for
``idle_timeout`` seconds disappears and subscribers get an ``expired`` event.
Ending an ended session does nothing; updating one raises InvalidTransitionError.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar

import orjson

from .. import validate
from ..codec import loads
from ..decode import pairs, server_time
from ..errors import InvalidInputError, NotFoundError
from ..events import GapCallback
from ..subscription import DEFAULT_MAX_PENDING, Subscription
from ..keys import validate_id
from ..manager import BaseManager, Layout
from ..validate import integer, positive_number
from .events import SpeechEvent
from .models import (
    AudioSessionStatus,
    SpeechSession,
    STTState,
    StreamingMode,
    TTSState,
    VoiceConversationState,
)

_Part = TypeVar("_Part", STTState, TTSState)
_SERVER_FIELDS = {"session_id", "updated_at"}


def _enum(cls: type[Enum], value: Any, what: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        choices = ", ".join(m.value for m in cls)
        raise InvalidInputError(f"{what} must be one of {choices}; got {value!r}") from None


class SpeechStateManager(BaseManager):
    """Speech session state (see the module docstring).

    ``idle_timeout`` (seconds, default 300) is the default idle expiry of new
    sessions; ``transcript_max`` (default 1000) caps each session's transcript
    stream (older entries are dropped; ``turn_count`` still counts them).
    """

    kind = "speech"
    layout = Layout("speech", "speech", ("stt", "tts", "transcript"))

    def __init__(
        self, persistence: Any = None, *, idle_timeout: float = 300.0, transcript_max: int = 1000, **kwargs: Any
    ) -> None:
        self.idle_timeout = positive_number("idle_timeout", idle_timeout)
        self.transcript_max = integer("transcript_max", transcript_max)
        super().__init__(persistence, **kwargs)

    def _session_keys(self, session_id: str) -> list[str]:
        """The keys that expire with the session (``speech_touch`` in lua/lib/speech.lua): all but the op ids."""
        base, _ops, _ops_prev, *parts = self._entity_keys(session_id)
        return [base, *parts]

    def _part_fields(self, state: STTState | TTSState) -> list[str]:
        out: list[str] = []
        for name, value in state.model_dump(mode="json", exclude=_SERVER_FIELDS).items():
            out += [name, self._dumps(value, what=f"{type(state).__name__}.{name}")]
        return out

    # -- sessions --------------------------------------------------------------------------------

    async def create_session(
        self,
        session_type: str = "voice_conversation",
        streaming_mode: StreamingMode | str = StreamingMode.BIDIRECTIONAL,
        config: Mapping[str, Any] | None = None,
        *,
        session_id: str | None = None,
        idle_timeout: float | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Open a session (status IDLE) and return its id (a fresh one unless ``session_id`` is given).

            >>> sid = await speech_state.create_session("voice_conversation", StreamingMode.BIDIRECTIONAL,
            ...                                         {"stt_provider": "openai"}, idle_timeout=60)

        A taken ``session_id`` raises AlreadyExistsError.
        """
        if not isinstance(session_type, str) or not session_type:
            raise InvalidInputError(f"session_type must be a non-empty string, got {session_type!r}")
        mode = _enum(StreamingMode, streaming_mode, "streaming_mode")
        sid = uuid.uuid4().hex if session_id is None else validate_id("speech", session_id)
        idle = positive_number("idle_timeout", self.idle_timeout if idle_timeout is None else idle_timeout)
        if config is not None and not isinstance(config, Mapping):
            raise InvalidInputError(f"config must be a dict, got {type(config).__name__}")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidInputError(f"metadata must be a dict, got {type(metadata).__name__}")
        await self._write(
            "create",
            sid,
            max(1, int(idle * 1000)),
            self._dumps(session_type, what="session_type"),
            mode.value,
            self._dumps(dict(config or {}), what="config"),
            self._dumps(dict(metadata or {}), what="metadata"),
        )
        return sid

    async def update_session_status(self, session_id: str, status: AudioSessionStatus | str) -> int:
        """Set the status of a live session; returns the session's new version.

            >>> await speech_state.update_session_status(sid, AudioSessionStatus.ACTIVE)

        Use ``end_session`` to end it. An ended session raises InvalidTransitionError.
        """
        new = _enum(AudioSessionStatus, status, "status")
        if new is AudioSessionStatus.ENDED:
            raise InvalidInputError("use end_session(session_id, reason) to end a session")
        return int(await self._write("status", session_id, new.value))

    async def end_session(self, session_id: str, reason: str | None = None) -> bool:
        """End a session: True if this call ended it, False if it had already ended (harmless).

            >>> await speech_state.end_session(sid, reason="user_ended")

        The ended session stays readable for its idle timeout, then expires.
        """
        if reason is not None and not isinstance(reason, str):
            raise InvalidInputError(f"reason must be a string or None, got {type(reason).__name__}")
        return bool(await self._write("end", session_id, self._dumps(reason, what="reason")) == "1")

    async def _get(self, session_id: str, transcript_limit: int = 0) -> list[Any]:
        reply = await self._read("get", session_id, transcript_limit)
        if not reply[1] or isinstance(reply[1], dict):
            raise NotFoundError(
                f"speech session {session_id!r} not found (never created, or expired)", kind="speech", id=session_id
            )
        return list(reply)

    async def get_session(self, session_id: str) -> SpeechSession:
        """The session as stored, with ``expires_in`` (seconds until idle expiry). NotFoundError if gone."""
        reply = await self._get(session_id)
        h = pairs(reply[1])
        pttl = int(reply[0])
        return SpeechSession(
            session_id=session_id,
            session_type=loads(h["session_type"]),
            streaming_mode=h["streaming_mode"],
            status=h["status"],
            config=loads(h["config"]),
            metadata=loads(h["metadata"]),
            created_at=server_time(h["created_at"]),
            updated_at=server_time(h["updated_at"]),
            ended_at=server_time(h.get("ended_at")),
            end_reason=loads(h["end_reason"]) if h.get("end_reason") else None,
            turn_count=int(h.get("turns", 0)),
            current_speaker=loads(h["current_speaker"]) if h.get("current_speaker") else None,
            idle_timeout=int(h["idle_ms"]) / 1000,
            expires_in=pttl / 1000 if pttl > 0 else None,
            version=int(h.get("#v", 0)),
        )

    # -- STT / TTS -------------------------------------------------------------------------------

    @staticmethod
    def _part(cls: type[_Part], session_id: str, flat: Any) -> _Part:
        h = pairs(flat)
        data: dict[str, Any] = {name: loads(v) for name, v in h.items() if name != "updated_at"}
        return cls.parse({**data, "session_id": session_id, "updated_at": server_time(h.get("updated_at"))})

    async def update_stt_state(self, stt_state: STTState) -> int:
        """Replace the session's STT state; returns the session's new version.

        >>> await speech_state.update_stt_state(STTState(session_id=sid,
        ...     status=TranscriptionStatus.TRANSCRIBING, transcription_progress=0.6))
        """
        stt_state = validate.model("stt_state", STTState, stt_state)
        return int(await self._write("set_part", stt_state.session_id, "stt", *self._part_fields(stt_state)))

    async def get_stt_state(self, session_id: str) -> STTState:
        """The session's STT state (defaults if none was set yet). NotFoundError if the session is gone."""
        return self._part(STTState, session_id, (await self._get(session_id))[2])

    async def update_tts_state(self, tts_state: TTSState) -> int:
        """Replace the session's TTS state; returns the session's new version.

        >>> await speech_state.update_tts_state(TTSState(session_id=sid, is_speaking=True))
        """
        tts_state = validate.model("tts_state", TTSState, tts_state)
        return int(await self._write("set_part", tts_state.session_id, "tts", *self._part_fields(tts_state)))

    async def get_tts_state(self, session_id: str) -> TTSState:
        """The session's TTS state (defaults if none was set yet). NotFoundError if the session is gone."""
        return self._part(TTSState, session_id, (await self._get(session_id))[3])

    # -- the conversation ------------------------------------------------------------------------

    async def _converse(
        self,
        session_id: str,
        entries: list[Any],
        first: int | None,
        speaker: str | None,
        stt: STTState | None = None,
        tts: TTSState | None = None,
    ) -> dict[str, int]:
        for part, name in ((stt, "stt_state"), (tts, "tts_state")):
            if part is not None and part.session_id != session_id:
                raise InvalidInputError(f"{name}.session_id {part.session_id!r} is not {session_id!r}")
        stt_fields = self._part_fields(stt) if stt is not None else []
        tts_fields = self._part_fields(tts) if tts is not None else []
        encoded = [self._dumps(e, what=f"transcript entry {i}") for i, e in enumerate(entries)]
        reply = await self._write(
            "converse",
            session_id,
            "" if speaker is None else self._dumps(speaker, what="current_speaker"),
            self.transcript_max,
            "" if first is None else first,
            len(stt_fields),
            len(tts_fields),
            *stt_fields,
            *tts_fields,
            *encoded,
        )
        counts: dict[str, int] = orjson.loads(reply)
        return counts

    async def update_conversation_state(self, state: VoiceConversationState) -> int:
        """Store the conversation in one atomic step; returns the turn count.

            >>> await speech_state.update_conversation_state(VoiceConversationState(
            ...     session_id=sid, current_speaker="user", stt_state=stt, tts_state=tts,
            ...     transcript=[{"role": "user", "content": "Hello"}]))

        ``transcript`` is the whole conversation so far: entries beyond those
        already stored are appended (so sending it again adds nothing). STT/TTS
        state is replaced when given. ``turn_count`` is counted by the server.
        """
        state = validate.model("state", VoiceConversationState, state)
        result = await self._converse(
            state.session_id, state.transcript, 0, state.current_speaker, state.stt_state, state.tts_state
        )
        return result["turn_count"]

    async def add_turn(self, session_id: str, role: str, content: str, **extra: Any) -> int:
        """Append one transcript entry ``{"role", "content", **extra}``; returns its turn number.

        >>> await speech_state.add_turn(sid, "assistant", "Hi! How can I help?")
        """
        if not isinstance(role, str) or not role:
            raise InvalidInputError(f"role must be a non-empty string, got {role!r}")
        if not isinstance(content, str):
            raise InvalidInputError(f"content must be a string, got {type(content).__name__}")
        result = await self._converse(session_id, [{"role": role, "content": content, **extra}], None, role)
        return result["turn_count"]

    async def get_conversation_state(
        self, session_id: str, transcript_limit: int | None = None
    ) -> VoiceConversationState:
        """The conversation with the last ``transcript_limit`` entries (default: all that are kept)."""
        limit = (
            self.transcript_max
            if transcript_limit is None
            else integer("transcript_limit", transcript_limit, minimum=0)
        )
        reply = await self._get(session_id, limit)
        h = pairs(reply[1])
        rows = reply[4] if isinstance(reply[4], list) else []
        return VoiceConversationState(
            session_id=session_id,
            turn_count=int(h.get("turns", 0)),
            current_speaker=loads(h["current_speaker"]) if h.get("current_speaker") else None,
            stt_state=self._part(STTState, session_id, reply[2]) if pairs(reply[2]) else None,
            tts_state=self._part(TTSState, session_id, reply[3]) if pairs(reply[3]) else None,
            transcript=[loads(rows[i + 1]) for i in range(0, len(rows), 2)],
            status=h["status"],
        )

    # -- events ----------------------------------------------------------------------------------

    def subscribe(
        self,
        id_glob: str,
        callback: Callable[[SpeechEvent], Any],
        *,
        on_gap: GapCallback | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> Subscription:
        """Call ``callback(SpeechEvent)`` for every change, by any process, to matching sessions,
        including ``op="expired"`` when a session's idle time runs out.

            >>> await speech_state.subscribe("call-*", lambda e: print(e.op, e.turns), on_gap=print)

        Events this subscription may have missed reach ``on_gap(Gap)``; fields too large for one
        event are named in ``event.omitted`` (read them with ``get_conversation_state``).
        """
        return self._subscribe_typed(
            "id_glob",
            id_glob,
            callback,
            lambda event: callback(SpeechEvent.from_change(event)),
            on_gap=on_gap,
            max_pending=max_pending,
        )

    def unsubscribe(self, id_glob: str, callback: Callable[[SpeechEvent], Any]) -> None:
        self._unsubscribe_typed("id_glob", id_glob, callback)
