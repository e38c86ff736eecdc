"""What the agent store's parts share: the 13 keys of one agent and the write call.

Every agents script takes the same KEYS (see ``lua/lib/agents.lua``), all under the
hash tag ``{agent:<id>}``; writes send op id, event channel, agent id and fencing token
first, so a retried call applies once and a stale lease holder is refused.
"""

from __future__ import annotations

from typing import Any

from .. import validate
from ..keys import validate_id
from ..manager import BaseManager

#: Approval records kept per agent (the stream's exact MAXLEN; see lua/lib/agents.lua).
APPROVAL_HISTORY_CAP = 1000
#: ``input_summary`` keeps this many characters of ``str(tool_input)``, then "...".
INPUT_SUMMARY_CHARS = 200

_SUBKEYS = ("lease", "snapshots", "snaporder", "checkpoints", "ckptorder", "approvals",
            "decisions", "tools", "workflow", "recovery")


class AgentBase(BaseManager):
    kind = "agent"

    def _agent_keys(self, agent_id: str) -> list[str]:
        validate_id("agent", agent_id)
        k = self.keys.agent(agent_id)
        return [k.base, k.ops, k.ops_prev, *(k(name) for name in _SUBKEYS)]

    async def _write(self, script: str, agent_id: str, token: int | None, *args: Any) -> Any:
        keys = self._agent_keys(agent_id)
        head = [*self._head(agent_id), validate.fencing_token(token, optional=True)]
        return await self.backend.run(f"agents/{script}", keys, [*head, *args])

    async def _read(self, script: str, agent_id: str, *args: Any) -> Any:
        return await self.backend.run(f"agents/{script}", self._agent_keys(agent_id), list(args))
