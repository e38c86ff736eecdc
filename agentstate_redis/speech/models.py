"""The speech-session models: session status, STT and TTS state, the voice conversation.

    >>> STTState(session_id=sid, status=TranscriptionStatus.TRANSCRIBING,
    ...          audio_received_bytes=45000, transcription_progress=0.6, interim_transcript="Hello, I...")
    >>> TTSState(session_id=sid, text_queue=["Hello!"], audio_generated_bytes=12000, is_speaking=True)

``updated_at`` (and the session's times) come from the Redis server's clock.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import Field

from ..model import Model


class AudioSessionStatus(str, Enum):
    """Status of a speech session. ENDED is final (``end_session``)."""

    IDLE = "idle"
    ACTIVE = "active"
    PAUSED = "paused"
    ERROR = "error"
    ENDED = "ended"


class StreamingMode(str, Enum):
    """Which way audio streams in a session."""

    BATCH = "batch"
    INPUT = "input"
    OUTPUT = "output"
    BIDIRECTIONAL = "bidirectional"


class TranscriptionStatus(str, Enum):
    """Status of speech-to-text in a session."""

    IDLE = "idle"
    LISTENING = "listening"
    TRANSCRIBING = "transcribing"
    COMPLETED = "completed"
    ERROR = "error"


class STTState(Model):
    """Speech-to-text state of one session (replaced as a whole by ``update_stt_state``)."""

    session_id: str = Field(min_length=1)
    status: TranscriptionStatus = TranscriptionStatus.IDLE
    audio_received_bytes: int = Field(0, ge=0)
    transcription_progress: float = Field(0.0, ge=0.0, le=1.0)
    interim_transcript: str = ""
    final_transcript: str | None = None
    language: str | None = None
    confidence: float | None = Field(None, ge=0.0, le=1.0)
    error: str | None = None
    updated_at: datetime | None = None


class TTSState(Model):
    """Text-to-speech state of one session (replaced as a whole by ``update_tts_state``)."""

    session_id: str = Field(min_length=1)
    text_queue: list[str] = Field(default_factory=list)
    audio_generated_bytes: int = Field(0, ge=0)
    audio_played_bytes: int = Field(0, ge=0)
    is_speaking: bool = False
    current_text: str | None = None
    voice: str | None = None
    error: str | None = None
    updated_at: datetime | None = None


class VoiceConversationState(Model):
    """A voice conversation: the transcript so far, who speaks, STT and TTS state.

    ``transcript`` is the whole conversation so far (dicts such as
    ``{"role": "user", "content": "Hello"}``); ``update_conversation_state``
    appends only the entries beyond those already stored. ``turn_count`` is
    counted by the server (one per transcript entry ever appended).
    """

    session_id: str = Field(min_length=1)
    turn_count: int = Field(0, ge=0)
    current_speaker: str | None = None
    stt_state: STTState | None = None
    tts_state: TTSState | None = None
    transcript: list[dict[str, Any]] = Field(default_factory=list)
    status: AudioSessionStatus | None = None


class SpeechSession(Model):
    """A session as stored: what ``create_session`` set plus its live status and times."""

    session_id: str
    session_type: str
    streaming_mode: StreamingMode
    status: AudioSessionStatus
    config: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None
    turn_count: int = 0
    current_speaker: str | None = None
    idle_timeout: float
    expires_in: float | None = None
    version: int = 0
