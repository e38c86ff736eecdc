"""Speech session state: sessions that expire when idle, STT/TTS state, a capped transcript.

>>> from agentstate_redis.speech import SpeechStateManager, StreamingMode, AudioSessionStatus
"""

from .events import SpeechEvent
from .manager import SpeechStateManager
from .models import (
    AudioSessionStatus,
    SpeechSession,
    STTState,
    StreamingMode,
    TranscriptionStatus,
    TTSState,
    VoiceConversationState,
)

__all__ = [
    "AudioSessionStatus",
    "SpeechEvent",
    "SpeechSession",
    "SpeechStateManager",
    "STTState",
    "StreamingMode",
    "TranscriptionStatus",
    "TTSState",
    "VoiceConversationState",
]
