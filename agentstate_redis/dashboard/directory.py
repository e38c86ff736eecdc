"""Which teams, agents and tools exist, known without a keyspace SCAN per page view.

    >>> directory = Directory(backend, teams=["research_team"], sweep_interval=60)
    >>> await directory.start()
    >>> directory.page("team", after=None, limit=50)
    ['research_team']

The library keeps no index of teams, agents or tools (workflows have one:
``WorkflowStateManager.list_workflows``), so the dashboard learns their ids three ways:
ids given by the operator, ids seen in change events (any team, agent or tool event names
its entity), and a background sweep: one SCAN of the keyspace every ``sweep_interval``
seconds (0 = never), on every primary, matching only the keys that name an entity once
(a team's hash, a tool's stats, an agent's approval or usage keys). Pages read the ids
from memory, in order, a page at a time. A sweep is the one place the dashboard scans;
it runs in the background, never while a page waits.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any

from ..events import ChangeEvent
from ..keys import escape_glob

log = logging.getLogger(__name__)

KINDS = ("team", "agent", "tool")

#: Sub-keys whose presence means the entity exists: (kind, key suffix after the hash tag).
#: A team always has its hash (no suffix); a tool its stats; an agent that recorded anything
#: its tool usage or approvals, and one that only checkpoints its checkpoint index.
MARKERS = (("team", ""), ("tool", ":stats"), ("agent", ":tools"), ("agent", ":approvals"),
           ("agent", ":checkpoints"))

#: Event ids that are not entities (the tool manager's retry channel).
NOT_ENTITIES = {("tool", "_retries")}


class Directory:
    """Sorted ids of each kind, fed by configuration, events and a periodic background sweep."""

    def __init__(self, backend: Any, *, teams: Iterable[str] = (), agents: Iterable[str] = (),
                 tools: Iterable[str] = (), sweep_interval: float = 60.0) -> None:
        self.backend = backend
        self.sweep_interval = float(sweep_interval)
        self._ids: dict[str, list[str]] = {kind: [] for kind in KINDS}
        self.swept_at: float | None = None
        self.sweep_seconds: float | None = None
        self.sweep_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._swept = asyncio.Event()
        for kind, ids in (("team", teams), ("agent", agents), ("tool", tools)):
            for ident in ids:
                self.add(kind, ident)

    # -- reading (what pages call) -----------------------------------------------------------

    def page(self, kind: str, after: str | None = None, limit: int = 50) -> list[str]:
        """Up to ``limit`` ids of ``kind`` after ``after`` (None = from the first), in id order."""
        ids = self._ids[kind]
        start = 0 if not after else bisect.bisect_right(ids, after)
        return ids[start:start + limit]

    def count(self, kind: str) -> int:
        return len(self._ids[kind])

    def __contains__(self, item: tuple[str, str]) -> bool:
        kind, ident = item
        ids = self._ids[kind]
        i = bisect.bisect_left(ids, ident)
        return i < len(ids) and ids[i] == ident

    # -- learning ----------------------------------------------------------------------------

    def add(self, kind: str, ident: str) -> None:
        if (kind, ident) in NOT_ENTITIES or not ident:
            return
        ids = self._ids[kind]
        i = bisect.bisect_left(ids, ident)
        if i == len(ids) or ids[i] != ident:
            ids.insert(i, ident)

    def on_event(self, event: ChangeEvent) -> None:
        """Learn the entity an event names (called for every team, agent and tool event)."""
        if event.kind in self._ids and event.op not in ("expired", "deleted", "delete"):
            self.add(event.kind, event.id)

    async def sweep(self) -> int:
        """One SCAN for entity marker keys; returns how many ids it found."""
        started = time.monotonic()
        found = 0
        head = escape_glob(self.backend.keys.prefix)
        for kind, suffix in MARKERS:
            async for key in self.backend.scan(f"{head}{{{kind}:*}}{escape_glob(suffix)}", count=5000):
                end = key.find("}")  # ids are escaped in keys: the first brace closes the hash tag
                parsed = self.backend.keys.parse_base(key[:end + 1]) if end > 0 else None
                if parsed and parsed[0] == kind and key[end + 1:] == suffix:
                    self.add(kind, parsed[1])
                    found += 1
        self.swept_at = time.time()
        self.sweep_seconds = time.monotonic() - started
        self.sweep_error = None
        self._swept.set()
        return found

    async def start(self) -> None:
        """Start the background sweeps (the first one at once, unless ``sweep_interval`` is 0)."""
        if self.sweep_interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._sweeps(), name="agentstate-dashboard-sweep")

    async def wait_swept(self, timeout: float = 30.0) -> None:
        """Wait for the first sweep to finish (tests, and /healthz's readiness)."""
        await asyncio.wait_for(self._swept.wait(), timeout)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _sweeps(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failed sweep is shown on the overview and retried
                self.sweep_error = f"{type(exc).__name__}: {exc}"
                log.warning("dashboard sweep failed (%s); retrying in %.0f s", self.sweep_error, self.sweep_interval)
            await asyncio.sleep(self.sweep_interval)
