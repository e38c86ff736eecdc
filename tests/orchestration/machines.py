"""The base of the queue's hypothesis state machines: a manager on the test Redis, in an event loop of its own.

>>> class QueueMachine(TeamMachine):
...     def __init__(self) -> None:
...         super().__init__("props", max_stalls=1000)    # team id, manager settings
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from hypothesis.stateful import RuleBasedStateMachine

from agentstate_redis import OrchestrationStateManager, RedisBackend


class TeamMachine(RuleBasedStateMachine):
    #: The test Redis, set by the test before the machine runs.
    url = ""

    def __init__(self, team: str, **options: Any) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        backend = RedisBackend(self.url, key_prefix=f"m{uuid.uuid4().hex[:8]}:")
        self.orch = OrchestrationStateManager(backend=backend, **options)
        self.run(self.orch.create_team(team))

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.orch.backend.close())
        self.loop.close()
