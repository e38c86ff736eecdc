"""One policy for model parameters in every manager: the model itself or a dict of its fields.

A dict is validated as the model (a bad field is InvalidInputError naming it, nothing written);
any other type is refused naming the parameter.
"""

from __future__ import annotations

import pytest

from agentstate_redis import (
    AgentStateStore,
    KnowledgeStateManager,
    SpeechStateManager,
    StreamingMode,
    ToolStateManager,
    WorkflowStateManager,
)
from agentstate_redis.backends.base import Backend
from agentstate_redis.errors import InvalidInputError, NotFoundError


async def test_agents_take_a_snapshot_or_its_fields(backend: Backend) -> None:
    store = AgentStateStore(backend=backend)
    saved = await store.save_snapshot({"agent_id": "a1", "snapshot_id": "s1", "memory_state": {"k": 1}})
    assert saved.snapshot_id == "s1" and saved.sequence == 1
    assert [s.memory_state for s in await store.list_snapshots("a1")] == [{"k": 1}]
    with pytest.raises(InvalidInputError, match="snapshot must be a AgentSnapshot or a dict"):
        await store.save_snapshot("s1")  # type: ignore[arg-type]  # a wrong type on purpose
    with pytest.raises(InvalidInputError, match="memory_stat"):
        await store.save_snapshot({"agent_id": "a1", "memory_stat": 1})
    assert len(await store.list_snapshots("a1")) == 1


async def test_tools_take_an_execution_or_its_fields(backend: Backend) -> None:
    tools = ToolStateManager(backend=backend)
    started = await tools.start_execution({"execution_id": "e1", "tool_name": "calc"})
    assert started.execution_id == "e1" and started.started_at is not None
    with pytest.raises(InvalidInputError, match="execution must be a ToolExecution or a dict"):
        await tools.start_execution(["e2"])  # type: ignore[arg-type]  # a wrong type on purpose
    with pytest.raises(NotFoundError):
        await tools.get_execution("e2", tool_name="calc")


async def test_speech_and_knowledge_take_a_dict_of_fields(backend: Backend) -> None:
    speech = SpeechStateManager(backend=backend)
    sid = await speech.create_session("voice", StreamingMode.BIDIRECTIONAL)
    version = await speech.update_tts_state({"session_id": sid, "is_speaking": True})
    assert version >= 2 and (await speech.get_tts_state(sid)).is_speaking is True
    with pytest.raises(InvalidInputError, match="tts_state must be a TTSState or a dict"):
        await speech.update_tts_state(True)  # type: ignore[arg-type]  # a wrong type on purpose

    kb = KnowledgeStateManager(backend=backend)
    stored = await kb.update_source_state({"source_id": "wiki", "knowledge_base_id": "docs", "documents_synced": 3})
    assert stored.documents_synced == 3 and stored.version >= 1
    with pytest.raises(InvalidInputError, match="source must be a SourceState or a dict"):
        await kb.update_source_state("wiki")  # type: ignore[arg-type]  # a wrong type on purpose


async def test_workflows_refuse_other_types_naming_the_parameter(backend: Backend) -> None:
    wf = WorkflowStateManager(backend=backend)
    with pytest.raises(InvalidInputError, match="step must be a StepState or a dict"):
        await wf.update_step("etl", 3)  # type: ignore[arg-type]  # a wrong type on purpose
