"""AgentStateTracking: Kaizen's state-tracking methods (seed 003) for your agent class, stored in Redis.

    >>> class MyAgent(AgentStateTracking):
    ...     def __init__(self, store):
    ...         self.init_state_tracking(store, "my_agent")
    >>> agent = MyAgent(AgentStateStore(persistence="redis"))
    >>> await agent.record_approval("Bash", True, "once", {"command": "ls -la"})
    >>> await agent.record_tool_usage("Read", increment=5)
    >>> state = await agent._capture_state()          # a checkpoint, captured atomically
    >>> await agent._restore_state(state)               # or a dict / Kaizen AgentState / another store's

This is the async twin, for ``async def`` agents; ``agentstate_redis.sync.AgentStateTracking``
has the same methods as plain (blocking) ones, exactly as the seed calls them. Either sets
``agent_id`` and ``tracking_store`` (or call ``init_state_tracking(store, agent_id)``); an agent
class that already has an ``agent_id`` keeps it. Shapes are Kaizen's: approval records are dicts
``tool_name, approved, action, timestamp`` (ISO string), ``input_summary`` ("" without input),
in recording order (``history[-1]`` is the latest); getters return fresh copies.
``_capture_state()`` saves a checkpoint (its step is ``self.current_step`` when the agent has
one) and returns a :class:`CapturedState`; ``_restore_state`` writes any captured state back
in one script (InvalidInputError and nothing changed for a bad one) and sets ``current_step``.

Every method reads or writes Redis, so every process sharing the agent id sees the same
history, counts and workflow state.
"""

from __future__ import annotations

from typing import Any

from .. import validate
from ..errors import InvalidInputError
from ..keys import validate_id
from .captured import CapturedState, kaizen_record, kaizen_workflow
from .store import AgentStateStore
from .tracker import AgentTracker


def _async_store(store: Any) -> AgentStateStore:
    inner = getattr(store, "_twin_async", store)
    if not isinstance(inner, AgentStateStore):
        raise InvalidInputError(f"store must be an AgentStateStore, got {type(store).__name__}")
    return inner


class TrackingSetup:
    """What both faces of the mixin share: the store, the agent id and the tracker built on them."""

    #: The AgentStateStore the tracking lives in (async, or its agentstate_redis.sync twin).
    tracking_store: Any = None

    def init_state_tracking(self, store: Any, agent_id: str | None = None, *, fencing_token: int | None = None) -> None:
        """Track this agent's state in ``store`` under ``agent_id`` (default: the agent's own ``agent_id``).

        ``fencing_token`` (from ``store.acquire_lease``) makes every write carry it.
        """
        self._check_store(store)
        if agent_id is None:
            agent_id = getattr(self, "agent_id", None)
        self.agent_id = validate_id("agent", agent_id)
        self.tracking_store = store
        self._agentstate_token = None if fencing_token is None else validate.integer("fencing_token", fencing_token)
        self.__dict__.pop("_agentstate_tracker", None)

    def _check_store(self, store: Any) -> None:
        if getattr(store, "_twin_async", None) is not None:
            raise InvalidInputError(
                "the async AgentStateTracking needs an agentstate_redis.AgentStateStore; this one is from "
                "agentstate_redis.sync (use agentstate_redis.sync.AgentStateTracking with it)"
            )
        _async_store(store)

    def _state_tracker(self) -> AgentTracker:
        store = getattr(self, "tracking_store", None)
        agent_id = getattr(self, "agent_id", None)
        if store is None or agent_id is None:
            raise InvalidInputError(
                f"{type(self).__name__} has no tracking store: call init_state_tracking(store, agent_id) "
                "or set tracking_store and agent_id"
            )
        tracker = self.__dict__.get("_agentstate_tracker")
        inner = _async_store(store)
        token = getattr(self, "_agentstate_token", None)
        if (
            tracker is None
            or tracker.store is not inner
            or tracker.agent_id != agent_id
            or tracker.fencing_token != token
        ):
            tracker = AgentTracker(inner, agent_id, fencing_token=token)
            self.__dict__["_agentstate_tracker"] = tracker
        return tracker


class AgentStateTracking(TrackingSetup):
    """Kaizen's approval / tool-usage / workflow-state tracking as coroutine methods (see the module docstring)."""

    async def record_approval(
        self, tool_name: str, approved: bool, action: str = "once", tool_input: dict[str, Any] | None = None
    ) -> None:
        """Record an approval decision for audit trail and checkpoint persistence.

        ``action``: "once", "all" (approve all future uses) or "deny_all" (deny them); "all" and
        "deny_all" are standing decisions every process honours. ``tool_input`` is kept as
        ``str(tool_input)``, cut to 200 characters and "...".
        """
        await self._state_tracker().record_approval(tool_name, approved, action, tool_input if tool_input else None)

    async def record_tool_usage(self, tool_name: str, increment: int = 1) -> None:
        """Record tool usage for tracking and analytics (``increment``: a positive integer, default 1)."""
        await self._state_tracker().record_tool_usage(tool_name, increment)

    async def update_workflow_state(
        self,
        run_id: str | None = None,
        status: str | None = None,
        current_node: str | None = None,
        node_results: dict[str, Any] | None = None,
        execution_time: float | None = None,
        **kwargs: Any,
    ) -> None:
        """Update workflow execution state for checkpoint persistence (a partial merge; ``last_updated`` is set)."""
        await self._state_tracker().update_workflow_state(
            run_id, status, current_node, node_results, execution_time, **kwargs
        )

    async def _get_approval_history(self) -> list[dict[str, Any]]:
        """Get approval history for checkpoint: a copy of the approval records, in recording order."""
        records = await self._state_tracker().store.get_approval_history(self.agent_id)
        return [kaizen_record(r) for r in records]

    async def _get_tool_usage_counts(self) -> dict[str, int]:
        """Get tool usage counts for checkpoint: a copy of the usage counts."""
        return await self._state_tracker().get_tool_usage_counts()

    async def _get_workflow_state(self) -> dict[str, Any]:
        """Get workflow execution state for checkpoint: a copy of the workflow state."""
        return kaizen_workflow(await self._state_tracker().get_workflow_state())

    async def _capture_state(
        self,
        *,
        state: dict[str, Any] | None = None,
        step: int | None = None,
        checkpoint_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> CapturedState:
        """Save a checkpoint with all tracking captured atomically; returns it in Kaizen's AgentState shape.

        ``step`` defaults to the agent's ``current_step`` (Kaizen's counter) when it has one, else 0;
        ``state`` and ``metadata`` are stored with it.
        """
        if step is None:
            current = getattr(self, "current_step", 0)
            step = current if isinstance(current, int) and not isinstance(current, bool) and current >= 0 else 0
        checkpoint = await self._state_tracker().capture_state(
            state, step=step, checkpoint_id=checkpoint_id, metadata=metadata
        )
        return CapturedState.from_checkpoint(checkpoint)

    async def _restore_state(self, checkpoint_state: Any) -> None:
        """Restore tracking state from a captured state (one script; InvalidInputError and no change if invalid).

        Takes what ``_capture_state`` returned, an AgentCheckpoint, a dict of the seed's "Checkpoint
        Data Structure" (hand-built or from another store), Kaizen's AgentState, or the id of a
        stored checkpoint ("latest"). Sets the agent's ``current_step`` from its ``step_number``
        when both exist.
        """
        restored = await self._state_tracker().restore_state(checkpoint_state)
        source = checkpoint_state if restored is None else restored
        step = source.get("step_number") if isinstance(source, dict) else getattr(source, "step_number", None)
        if hasattr(self, "current_step") and isinstance(step, int) and not isinstance(step, bool):
            self.current_step = step
