"""AgentRecoveryManager: restore agents from their newest recoverable checkpoint, a bounded number of times.

    >>> recovery_manager = AgentRecoveryManager(agent_store=agent_store, auto_recover=True,
    ...                                         max_recovery_attempts=3)
    >>> recovery_manager.register(agent)      # has .id, .restore_from_checkpoint(state), .resume()
    >>> if await recovery_manager.recover(agent_id=agent.id, from_checkpoint="latest"):
    ...     result = await agent.resume()

Attempts are counted in Redis by the same script that restores, so the limit holds
across processes and restarts; past it, ``recover`` raises RecoveryError.
Checkpoints saved with ``recoverable=False`` are skipped by ``"latest"``.
"""

from __future__ import annotations

import inspect
from typing import Any

from .. import validate
from ..errors import InvalidInputError
from ..keys import validate_id
from .models import AgentCheckpoint
from .store import LATEST, AgentStateStore


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class AgentRecoveryManager:
    """Recovers registered agents from checkpoints (see the module docstring)."""

    def __init__(self, agent_store: AgentStateStore, auto_recover: bool = True, max_recovery_attempts: int = 3) -> None:
        if not isinstance(agent_store, AgentStateStore):
            raise InvalidInputError(f"agent_store must be an AgentStateStore, got {type(agent_store).__name__}")
        if not isinstance(auto_recover, bool):
            raise InvalidInputError(f"auto_recover must be True or False, got {auto_recover!r}")
        self.agent_store = agent_store
        self.auto_recover = auto_recover
        self.max_recovery_attempts = validate.integer("max_recovery_attempts", max_recovery_attempts)
        self._agents: dict[str, Any] = {}

    def register(self, agent: Any) -> None:
        """Register an agent: it needs ``id``, ``restore_from_checkpoint(state)`` and ``resume()``."""
        agent_id = validate_id("agent", getattr(agent, "id", None))
        for method in ("restore_from_checkpoint", "resume"):
            if not callable(getattr(agent, method, None)):
                raise InvalidInputError(f"agent {agent_id!r} has no callable {method}()")
        self._agents[agent_id] = agent

    def unregister(self, agent_id: str) -> None:
        self._agents.pop(validate_id("agent", agent_id), None)

    async def recover(
        self, agent_id: str, from_checkpoint: str = LATEST, *, fencing_token: int | None = None
    ) -> AgentCheckpoint:
        """Count an attempt and restore the checkpoint's tracking, then the registered agent's state.

        Returns the checkpoint used. RecoveryError past ``max_recovery_attempts`` or when
        no recoverable checkpoint exists.
        """
        checkpoint, _ = await self.agent_store._recover(
            agent_id, from_checkpoint, self.max_recovery_attempts, fencing_token
        )
        agent = self._agents.get(agent_id)
        if agent is not None:
            await _maybe_await(agent.restore_from_checkpoint(checkpoint.state))
        return checkpoint

    async def recover_and_resume(self, agent_id: str, from_checkpoint: str = LATEST) -> Any:
        """``recover`` then the registered agent's ``resume()``; returns what resume returns."""
        agent = self._agents.get(validate_id("agent", agent_id))
        if agent is None:
            raise InvalidInputError(f"agent {agent_id!r} is not registered")
        await self.recover(agent_id, from_checkpoint)
        return await _maybe_await(agent.resume())

    async def attempts(self, agent_id: str) -> int:
        """Recovery attempts counted so far (shared by every process)."""
        return await self.agent_store.recovery_attempts(agent_id)

    async def reset_attempts(self, agent_id: str, *, fencing_token: int | None = None) -> None:
        """Start counting again (after the agent ran successfully)."""
        await self.agent_store._reset_recovery(agent_id, fencing_token)
