"""Worker processes for the speech-manager tests (spawned by tests.procs.run_processes)."""

from __future__ import annotations

import asyncio

from agentstate_redis.speech import (
    AudioSessionStatus,
    SpeechStateManager,
    STTState,
    TranscriptionStatus,
    TTSState,
    VoiceConversationState,
)

HELLO = {"role": "user", "content": "Hello"}
HI = {"role": "assistant", "content": "Hi! How can I help?"}


def drive_conversation(redis_url: str, prefix: str, session_id: str, idle_session_id: str) -> int:
    """A voice agent: one conversation from creation to end, then a session left idle (1 s)."""
    return asyncio.run(_drive(redis_url, prefix, session_id, idle_session_id))


async def _drive(redis_url: str, prefix: str, session_id: str, idle_session_id: str) -> int:
    async with SpeechStateManager(persistence="redis", redis_url=redis_url, key_prefix=prefix) as speech:
        sid = await speech.create_session("voice_conversation", config={"language": "en-US"}, session_id=session_id)
        await speech.update_session_status(sid, AudioSessionStatus.ACTIVE)
        stt = STTState(session_id=sid, status=TranscriptionStatus.TRANSCRIBING, interim_transcript="Hel")
        await speech.update_stt_state(stt)
        await speech.update_conversation_state(
            VoiceConversationState(session_id=sid, current_speaker="user", transcript=[HELLO])
        )
        tts = TTSState(session_id=sid, text_queue=[HI["content"]], is_speaking=True)
        await speech.update_conversation_state(
            VoiceConversationState(session_id=sid, current_speaker="assistant", tts_state=tts, transcript=[HELLO, HI])
        )
        turns = await speech.add_turn(sid, "user", "Book a table for two")
        await speech.end_session(sid, reason="user_ended")
        idle = await speech.create_session(session_id=idle_session_id, idle_timeout=1)
        await speech.add_turn(idle, "user", "anyone there?")
        return turns
