"""SpeechStateManager: a session's whole life, idle expiry seen by subscribers, cross-process turns."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from agentstate_redis import (
    AlreadyExistsError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
)
from agentstate_redis.speech import (
    AudioSessionStatus,
    SpeechEvent,
    SpeechStateManager,
    StreamingMode,
    STTState,
    TranscriptionStatus,
    TTSState,
    VoiceConversationState,
)

from .. import workers_speech
from ..procs import run_processes
from ..waiting import eventually


@pytest.fixture
def speech(backend) -> SpeechStateManager:
    return SpeechStateManager(backend=backend)


async def test_voice_conversation_lifecycle(speech: SpeechStateManager) -> None:
    sid = await speech.create_session(
        "voice_conversation", StreamingMode.BIDIRECTIONAL, {"stt_provider": "openai", "language": "en-US"}
    )
    session = await speech.get_session(sid)
    assert (session.status, session.streaming_mode, session.config["language"]) == (
        AudioSessionStatus.IDLE,
        StreamingMode.BIDIRECTIONAL,
        "en-US",
    )
    assert session.expires_in is not None and 0 < session.expires_in <= 300
    await speech.update_session_status(sid, AudioSessionStatus.ACTIVE)

    stt = STTState(
        session_id=sid,
        status=TranscriptionStatus.TRANSCRIBING,
        audio_received_bytes=45000,
        transcription_progress=0.6,
        interim_transcript="Hello, I would like to...",
    )
    await speech.update_stt_state(stt)
    got = await speech.get_stt_state(sid)
    assert got.model_dump(exclude={"updated_at"}) == stt.model_dump(exclude={"updated_at"})
    assert got.updated_at is not None
    tts = TTSState(
        session_id=sid,
        text_queue=["Hello! How can I help you today?"],
        audio_generated_bytes=12000,
        audio_played_bytes=8000,
        is_speaking=True,
    )
    await speech.update_tts_state(tts)
    assert (await speech.get_tts_state(sid)).is_speaking

    hello = {"role": "user", "content": "Hello"}
    hi = {"role": "assistant", "content": "Hi! How can I help?"}
    state = VoiceConversationState(session_id=sid, current_speaker="user", stt_state=stt, transcript=[hello])
    assert await speech.update_conversation_state(state) == 1
    # the whole transcript again plus one entry: only the new entry is appended
    state = state.model_copy(update={"transcript": [hello, hi], "current_speaker": "assistant"})
    assert await speech.update_conversation_state(state) == 2
    assert await speech.update_conversation_state(state) == 2
    assert await speech.add_turn(sid, "user", "Book a table", confidence=0.9) == 3
    conv = await speech.get_conversation_state(sid)
    assert conv.transcript == [hello, hi, {"role": "user", "content": "Book a table", "confidence": 0.9}]
    assert (conv.turn_count, conv.current_speaker, conv.status) == (3, "user", AudioSessionStatus.ACTIVE)
    assert conv.stt_state is not None and conv.stt_state.interim_transcript == stt.interim_transcript
    assert (await speech.get_conversation_state(sid, transcript_limit=1)).transcript[0]["content"] == "Book a table"

    assert await speech.end_session(sid, reason="user_ended") is True
    assert await speech.end_session(sid, reason="again") is False  # harmless
    ended = await speech.get_session(sid)
    assert (ended.status, ended.end_reason, ended.turn_count) == (AudioSessionStatus.ENDED, "user_ended", 3)
    assert ended.ended_at is not None
    for update in (
        speech.update_session_status(sid, AudioSessionStatus.ACTIVE),
        speech.update_stt_state(stt),
        speech.update_tts_state(tts),
        speech.update_conversation_state(state),
        speech.add_turn(sid, "user", "still there?"),
    ):
        with pytest.raises(InvalidTransitionError) as err:
            await update
        assert err.value.status == "ended"
    assert (await speech.get_conversation_state(sid)).turn_count == 3


async def test_errors_are_typed_and_nothing_is_written(speech: SpeechStateManager) -> None:
    sid = await speech.create_session(session_id="call-1")
    with pytest.raises(AlreadyExistsError):
        await speech.create_session(session_id="call-1")
    for missing in (
        speech.get_session("nope"),
        speech.get_stt_state("nope"),
        speech.end_session("nope"),
        speech.update_session_status("nope", "active"),
        speech.add_turn("nope", "user", "x"),
    ):
        with pytest.raises(NotFoundError):
            await missing
    with pytest.raises(InvalidInputError, match="status must be one of"):
        await speech.update_session_status(sid, "bogus")
    with pytest.raises(InvalidInputError, match="end_session"):
        await speech.update_session_status(sid, AudioSessionStatus.ENDED)
    with pytest.raises(InvalidInputError, match="streaming_mode"):
        await speech.create_session(streaming_mode="sideways")
    with pytest.raises(InvalidInputError, match="idle_timeout"):
        await speech.create_session(idle_timeout=0)
    with pytest.raises(InvalidInputError, match="transcription_progress"):
        STTState(session_id=sid, transcription_progress=1.5)
    with pytest.raises(InvalidInputError, match=r"stt_state\.session_id"):
        await speech.update_conversation_state(
            VoiceConversationState(session_id=sid, stt_state=STTState(session_id="other"))
        )
    with pytest.raises(InvalidInputError):
        await speech.add_turn(sid, "user", {"not": "text"})
    assert (await speech.get_session(sid)).version == 1


async def test_transcript_is_capped_and_turns_counted(backend) -> None:
    speech = SpeechStateManager(backend=backend, transcript_max=3)
    sid = await speech.create_session()
    for n in range(5):
        await speech.add_turn(sid, "user", f"turn {n}")
    conv = await speech.get_conversation_state(sid)
    assert conv.turn_count == 5
    assert [e["content"] for e in conv.transcript] == ["turn 2", "turn 3", "turn 4"]


async def test_retried_turn_is_appended_once(speech: SpeechStateManager) -> None:
    sid = await speech.create_session()
    args = ["op-1", "", sid, "", 100, "", 0, 0, '{"role":"user","content":"hi"}']
    first = await speech.backend.run("speech/converse", speech._entity_keys(sid), args)
    again = await speech.backend.run("speech/converse", speech._entity_keys(sid), args)
    assert first == again
    assert (await speech.get_conversation_state(sid)).turn_count == 1


async def test_activity_refreshes_every_keys_idle_ttl(speech: SpeechStateManager) -> None:
    sid = await speech.create_session(idle_timeout=1000)
    await speech.update_stt_state(STTState(session_id=sid))
    await speech.update_tts_state(TTSState(session_id=sid))
    await speech.add_turn(sid, "user", "hi")
    keys = speech._session_keys(sid)
    client = speech.backend.client
    for key in keys:  # as if the session had been idle for all but 5 seconds
        assert await client.pexpire(key, 5000)
    await speech.get_conversation_state(sid)  # reading is not activity
    assert all(0 < ttl <= 5000 for ttl in [await client.pttl(key) for key in keys])
    await speech.update_session_status(sid, AudioSessionStatus.ACTIVE)
    assert all(ttl > 900_000 for ttl in [await client.pttl(key) for key in keys])


async def expiry_seen(speech: SpeechStateManager, sid: str, seen: list[SpeechEvent]) -> bool:
    """Whether ``sid``'s expiry event arrived, after a read that expires the session if it is due:
    the server's active expiry cycle may take minutes to get to a key among many with a TTL."""
    with contextlib.suppress(NotFoundError):
        await speech.get_session(sid)
    return any(e.op == "expired" and e.session_id == sid for e in seen)


async def test_idle_session_expires_and_subscribers_see_it(speech: SpeechStateManager) -> None:
    seen: list[SpeechEvent] = []
    await speech.subscribe("idle-*", seen.append)
    sid = await speech.create_session(session_id="idle-1", idle_timeout=1)
    await speech.add_turn(sid, "user", "anyone there?")
    await eventually(timeout=15.0, check=lambda: expiry_seen(speech, sid, seen))
    assert [e.op for e in seen] == ["create", "conversation", "expired"]
    assert seen[1].turns == [{"role": "user", "content": "anyone there?"}] and seen[1].first_turn == 1
    with pytest.raises(NotFoundError):
        await speech.get_session(sid)
    for key in speech._session_keys(sid):  # STT, TTS and transcript went with it
        assert await speech.backend.client.exists(key) == 0


async def test_subscriber_in_another_process_sees_the_turns(redis_url: str, prefix: str, redis_backend) -> None:
    speech = SpeechStateManager(backend=redis_backend)
    seen: list[SpeechEvent] = []
    await speech.subscribe("call-*", seen.append)
    [turns] = await asyncio.to_thread(
        run_processes, workers_speech.drive_conversation, [(redis_url, prefix, "call-1", "call-idle")]
    )
    assert turns == 3
    await eventually(timeout=15.0, check=lambda: expiry_seen(speech, "call-idle", seen))
    call = [e for e in seen if e.session_id == "call-1"]
    assert [e.op for e in call] == [
        "create",
        "status",
        "update_stt",
        "conversation",
        "conversation",
        "conversation",
        "end",
    ]
    assert [e.version for e in call] == list(range(1, 8))
    said = [(turn["role"], turn["content"]) for e in call for turn in e.turns]
    assert said == [("user", "Hello"), ("assistant", "Hi! How can I help?"), ("user", "Book a table for two")]
    assert [e.turn_count for e in call if e.op == "conversation"] == [1, 2, 3]
    assert call[1].status is AudioSessionStatus.ACTIVE
    assert call[-1].status is AudioSessionStatus.ENDED and call[-1].reason == "user_ended"
    idle = [e.op for e in seen if e.session_id == "call-idle"]
    assert idle == ["create", "conversation", "expired"]
    with pytest.raises(NotFoundError):
        await speech.get_session("call-idle")
    for key in speech._session_keys("call-idle"):
        assert await redis_backend.client.exists(key) == 0
