"""Which teams, agents and tools exist, known without a keyspace SCAN per page view.

    >>> directory = Directory(backend, teams=["research_team"], sweep_interval=60)
    >>> await directory.start()
    >>> directory.page("team", after=None, limit=50)
    ['research_team']

The library keeps no index of teams, agents or tools (workflows have one:
``WorkflowStateManager.list_workflows``), so the dashboard learns their ids three ways:
ids given by the operator, ids seen in change events (any team, agent or tool event names
its entity), and a background sweep: one SCAN of the keyspace every ``sweep_interval``
seconds (300; 0 = never), on every primary, matching only the keys that name an entity once
(a team's hash, a tool's stats, an agent's few sub-keys). Pages read the ids
from memory, in order, a page at a time. A sweep is the one place the dashboard scans;
it runs in the background, never while a page waits.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Iterable
from typing import Any

from ..background import stop_task
from ..events import ChangeEvent

log = logging.getLogger(__name__)

KINDS = ("team", "agent", "tool")

#: One SCAN pattern per kind, after ``keys.entity_pattern(kind)`` (``<prefix>{<kind>:*}``): the key(s) that
#: mark an entity once or a few times, never a key per task. A team always has its hash (nothing after the
#: tag); a tool its stats; an agent that recorded anything has a handful of sub-keys (usage, approvals, ...).
MARKERS = (("team", ""), ("tool", ":stats"), ("agent", ":*"))

#: Event ids that are not entities (the tool manager's retry channel).
NOT_ENTITIES = {("tool", "_retries")}
#: Seconds between sweeps. A sweep of a keyspace of a million keys takes about 3.5 s (three SCANs,
#: bench/dashboard.py); events keep the ids of active entities fresh in between.
DEFAULT_SWEEP_INTERVAL = 300.0
#: Keys the server looks at per SCAN call: each call holds the server for about a millisecond.
SCAN_COUNT = 1000


class Directory:
    """Sorted ids of each kind, fed by configuration, events and a periodic background sweep."""

    def __init__(
        self,
        backend: Any,
        *,
        teams: Iterable[str] = (),
        agents: Iterable[str] = (),
        tools: Iterable[str] = (),
        sweep_interval: float = DEFAULT_SWEEP_INTERVAL,
    ) -> None:
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
        return ids[start : start + limit]

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
        """One SCAN per kind for its marker keys; returns how many new ids it found."""
        started = time.monotonic()
        found = 0
        for kind, suffix in MARKERS:
            async for key in self.backend.scan(self.backend.keys.entity_pattern(kind) + suffix, count=SCAN_COUNT):
                end = key.find("}")  # ids are escaped in keys: the first brace closes the hash tag
                parsed = self.backend.keys.parse_base(key[: end + 1]) if end > 0 else None
                rest = key[end + 1 :]
                if parsed and parsed[0] == kind and (rest == suffix or (suffix == ":*" and rest.startswith(":"))):
                    if (kind, parsed[1]) not in self:
                        found += 1
                    self.add(kind, parsed[1])
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
        await stop_task(self._task)
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
