"""Where the tool manager's entities live: three layouts, one per entity kind.

    >>> tools._keys_on(TOOL, "search_web")       # the 8 KEYS of every script on one tool
    ('p:{tool:search_web}', 'p:{tool:search_web}:ops:cur', ..., 'p:{tool:search_web}:cachelock:')
    >>> await tools._write_on(RETRIES, "retry_clear", RETRY_INDEX, execution_id)

- ``TOOL`` (``lua/lib/tools.lua``): everything about one tool under ``{tool:<name>}``: stats,
  execution history, one hash per execution (``exec:<execution id>``), cached results
  (``cache:<escaped parameters hash>``) and their compute locks (``cachelock:<...>``). The
  per-item keys are a prefix in the layout plus the item's id in ARGV, so one tool's KEYS are
  the same for every execution and every cached result (and are built once, see
  ``BaseManager._keys_on``).
- ``LINKS`` (``lua/lib/tool_links.lua``): ``{toolexec:<execution id>}`` -> tool name, so
  ``complete_execution`` can take only the execution id. Links publish nothing.
- ``RETRIES`` (``lua/lib/tool_retries.lua``): the one retry index ``{idx:tool-retries}`` (a due
  set and a record per execution), so claiming due retries is one single-slot script. Its writes
  publish on the fixed channel of tool ``_retries``.

Every script of a layout takes that layout's KEYS in its order; writes take ARGV op id, the
layout's channel, the entity id (tool name, execution id, ``RETRY_INDEX``), then their own.
"""

from __future__ import annotations

from ..manager import Layout

#: One tool: ``{tool:<name>}``; executions, cache entries and locks are prefixes + ids in ARGV.
TOOL = Layout("tool", "tools", ("stats", "history", "exec:", "cache:", "cachelock:"))
#: One execution's link to its tool: ``{toolexec:<execution id>}`` (a string with a TTL).
LINKS = Layout("toolexec", "tools", (), noun="tool execution", events="")
#: The retry index ``{idx:tool-retries}``: due set and retry records; events on tool ``_retries``.
RETRY_CHANNEL_ID = "_retries"
RETRIES = Layout("idx", "tools", ("due", "retry:"), noun="index", events=f"tool:{RETRY_CHANNEL_ID}")
#: The id of the retry index entity (``keys.index("tool-retries")``).
RETRY_INDEX = "tool-retries"
