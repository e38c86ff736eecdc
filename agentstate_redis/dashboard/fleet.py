"""What every page reads through: one backend (shared, closed on shutdown), the public managers
on it, the directory of ids and the live feed.

    >>> fleet = Fleet.connect(redis_url="redis://localhost:6379/0", key_prefix="agentstate:")
    >>> await fleet.start(); ...; await fleet.close()
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..agents import AgentStateStore
from ..backends.base import Backend
from ..config import resolve_backend
from ..orchestration import OrchestrationStateManager
from ..tools import ToolStateManager
from ..workflows import WorkflowStateManager
from .directory import DEFAULT_SWEEP_INTERVAL, Directory
from .feed import Feed


@dataclass
class Fleet:
    backend: Backend
    owns_backend: bool
    orch: OrchestrationStateManager
    workflows: WorkflowStateManager
    agents: AgentStateStore
    tools: ToolStateManager
    directory: Directory
    feed: Feed
    live: bool = True
    started: bool = field(default=False)

    @classmethod
    def connect(
        cls,
        *,
        redis_url: str | None = None,
        key_prefix: str = "agentstate:",
        backend: Backend | None = None,
        teams: Iterable[str] = (),
        agents: Iterable[str] = (),
        tools: Iterable[str] = (),
        sweep_interval: float = DEFAULT_SWEEP_INTERVAL,
        offline_after: float = 10.0,
        live: bool = True,
        **settings: Any,
    ) -> Fleet:
        """Managers on ``backend`` (left open at close) or on a new Redis backend (closed at close).

        ``offline_after``: seconds without a heartbeat after which an agent shows offline (the
        fleet's own setting, 10 s by default). ``live=False``: no event subscriptions (``metrics_app``).
        """
        if backend is None:
            backend, owns = resolve_backend("redis", redis_url=redis_url, key_prefix=key_prefix, **settings)
        else:
            owns = False
        directory = Directory(backend, teams=teams, agents=agents, tools=tools, sweep_interval=sweep_interval)
        return cls(
            backend=backend,
            owns_backend=owns,
            # page_size=1: get_team reads the counts, the agents and one task per queue (the smallest page)
            orch=OrchestrationStateManager(backend=backend, page_size=1, offline_after=offline_after),
            workflows=WorkflowStateManager(backend=backend),
            agents=AgentStateStore(backend=backend),
            tools=ToolStateManager(backend=backend),
            directory=directory,
            feed=Feed(backend, on_event=directory.on_event),
            live=live,
        )

    async def start(self) -> None:
        await self.backend.connect()
        if self.live:
            await self.feed.start()
        await self.directory.start()
        self.started = True

    async def close(self) -> None:
        await self.directory.close()
        await self.feed.close()
        if self.owns_backend:
            await self.backend.close()
