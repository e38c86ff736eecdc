"""What the agent store's parts share: the 15 keys of one agent and the write call.

Every agents script takes the same KEYS (see ``lua/lib/agents.lua``), all under the
hash tag ``{agent:<id>}`` (``AgentBase.layout``); writes send op id, event channel, agent id
(``BaseManager._write``) and then the fencing token (``""`` for none), so a retried call
applies once and a stale lease holder is refused.
"""

from __future__ import annotations

from ..manager import BaseManager, Layout

#: Approval records kept per agent (the stream's exact MAXLEN; see lua/lib/agents.lua).
APPROVAL_HISTORY_CAP = 1000
#: ``input_summary`` keeps this many characters of ``str(tool_input)``, then "...".
INPUT_SUMMARY_CHARS = 200

_SUBKEYS = (
    "lease",
    "snapshots",
    "snaporder",
    "checkpoints",
    "ckptorder",
    "approvals",
    "decisions",
    "tools",
    "workflow",
    "recovery",
    "ckptbody",
    "ckptstage",
)


class AgentBase(BaseManager):
    kind = "agent"
    layout = Layout("agent", "agents", _SUBKEYS)
