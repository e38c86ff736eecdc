"""``/metrics`` in the Prometheus text format, read from the server at each scrape, so every pod
that serves it reports the same numbers; mountable alone as :func:`metrics_app`.

    >>> api.mount("/", metrics_app(redis_url="redis://redis:6379/0"))   # GET /metrics, GET /healthz

Per team (every team the directory knows): tasks by status; the totals the queue's scripts count
(completed, dead, claims, failures, stalls) and the wake-up histogram (how long claimed tasks had
been claimable, see :class:`~agentstate_redis.orchestration.counters.WakeupHistogram`); agents
online and offline. Workflows by status (the library's status index), per tool: executions by
outcome, running executions, cache hits and misses. The dashboard process's own event hub: events
received, reconnects, gaps by reason. Every number is read from the server, none made up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from ..errors import NotFoundError
from .fleet import Fleet

#: Teams and tools one scrape reads at most (each is one or two small reads).
SCRAPE_LIMIT = 1000


async def families(fleet: Fleet) -> list[Metric]:
    """Every metric family of one scrape, read now."""
    teams = fleet.directory.page("team", None, SCRAPE_LIMIT)
    tools = fleet.directory.page("tool", None, SCRAPE_LIMIT)
    team_reads, tool_stats, workflow_counts = await asyncio.gather(
        asyncio.gather(*(_team(fleet, t) for t in teams)),
        asyncio.gather(*(fleet.tools.get_tool_stats(t) for t in tools)),
        _workflows(fleet),
    )
    out: list[Metric] = []
    out += _team_families([r for r in team_reads if r is not None])
    out.append(workflow_counts)
    out += _tool_families(tool_stats)
    out += _hub_families(fleet)
    known = GaugeMetricFamily(
        "agentstate_dashboard_known", "Entities this dashboard knows of (config, events, sweeps).", labels=["kind"]
    )
    for kind in ("team", "agent", "tool"):
        known.add_metric([kind], fleet.directory.count(kind))
    out.append(known)
    return out


async def _team(fleet: Fleet, team_id: str) -> tuple[str, Any, Any] | None:
    try:
        team, counters = await asyncio.gather(fleet.orch.get_team(team_id), fleet.orch.get_team_counters(team_id))
    except NotFoundError:
        return None
    return team_id, team, counters


def _team_families(rows: Iterable[tuple[str, Any, Any]]) -> list[Metric]:
    tasks = GaugeMetricFamily(
        "agentstate_tasks",
        "Tasks of a team by status, read from its queue (completed and dead: the ones retained).",
        labels=["team", "status"],
    )
    completed = CounterMetricFamily(
        "agentstate_tasks_completed", "Tasks completed since the team was created.", labels=["team"]
    )
    dead = CounterMetricFamily(
        "agentstate_tasks_dead", "Tasks dead-lettered since the team was created.", labels=["team"]
    )
    claims = CounterMetricFamily(
        "agentstate_task_claims",
        "Tasks handed to a worker (claim_task, complete_and_claim's next task, assign_task), per team.",
        labels=["team"],
    )
    failures = CounterMetricFamily(
        "agentstate_task_failures",
        "Failed attempts workers reported (fail_task, retried or dead-lettered), per team.",
        labels=["team"],
    )
    stalls = CounterMetricFamily(
        "agentstate_task_stalls",
        "Expired leases collected (by a claim or reap) that put their task back or dead-lettered it, per team.",
        labels=["team"],
    )
    wakeup = HistogramMetricFamily(
        "agentstate_queue_wakeup_seconds",
        "Seconds a claimed task had been claimable, on the server clock: from its "
        "enqueue, or from when it became pending again (its retry or delay fell due, its dependencies finished, it "
        "was released or its stalled lease collected), to the claim_task or complete_and_claim that took it "
        "(assign_task is not observed), per team.",
        labels=["team"],
    )
    agents = GaugeMetricFamily(
        "agentstate_team_agents", "Agents of a team, online or offline (heartbeats stopped).", labels=["team", "state"]
    )
    for team_id, team, counters in rows:
        q = team.task_queue
        for status, value in (
            ("pending", q.pending_count),
            ("in_progress", q.in_progress_count),
            ("retry", q.scheduled_count),
            ("completed", q.completed_count),
            ("dead", q.dead_count),
        ):
            tasks.add_metric([team_id, status], value)
        completed.add_metric([team_id], counters.completed_total)
        dead.add_metric([team_id], counters.dead_total)
        claims.add_metric([team_id], counters.claims_total)
        failures.add_metric([team_id], counters.failures_total)
        stalls.add_metric([team_id], counters.stalls_total)
        h = counters.wakeup
        wakeup.add_metric([team_id], [(_le(bound), n) for bound, n in h.buckets] + [("+Inf", h.count)], h.sum_seconds)
        online = sum(1 for a in team.agents.values() if a.online)
        agents.add_metric([team_id, "online"], online)
        agents.add_metric([team_id, "offline"], len(team.agents) - online)
    return [tasks, completed, dead, claims, failures, stalls, wakeup, agents]


def _le(seconds: float) -> str:
    """A bucket bound as Prometheus writes it (0.005, 1.0, 300.0)."""
    return repr(float(seconds))


async def _workflows(fleet: Fleet) -> Metric:
    from ..workflows import WorkflowStatus

    family = GaugeMetricFamily(
        "agentstate_workflows", "Workflows by status (the library's status index).", labels=["status"]
    )
    counts = await asyncio.gather(*(fleet.workflows.count_workflows(s) for s in WorkflowStatus))
    for status, n in zip(WorkflowStatus, counts):
        family.add_metric([status.value], n)
    return family


def _tool_families(stats: Iterable[Any]) -> list[Metric]:
    executions = CounterMetricFamily(
        "agentstate_tool_executions", "Tool executions finished, by outcome.", labels=["tool", "outcome"]
    )
    running = GaugeMetricFamily(
        "agentstate_tool_executions_running", "Tool executions started and not finished.", labels=["tool"]
    )
    hits = CounterMetricFamily("agentstate_tool_cache_hits", "Tool-cache lookups that found a result.", labels=["tool"])
    misses = CounterMetricFamily("agentstate_tool_cache_misses", "Tool-cache lookups that found none.", labels=["tool"])
    for s in stats:
        executions.add_metric([s.tool_name, "success"], s.successful_executions)
        executions.add_metric([s.tool_name, "failure"], s.failed_executions)
        running.add_metric([s.tool_name], s.running_executions)
        hits.add_metric([s.tool_name], s.cache_hits)
        misses.add_metric([s.tool_name], s.cache_misses)
    return [executions, running, hits, misses]


def _hub_families(fleet: Fleet) -> list[Metric]:
    if not fleet.feed.started:
        return []
    feed = fleet.feed
    events = CounterMetricFamily(
        "agentstate_event_hub_events",
        "Change events this process's event hub delivered to the dashboard, by entity kind.",
        labels=["kind"],
    )
    for kind, n in sorted(feed.events_total.items()):
        events.add_metric([kind], n)
    reconnects = CounterMetricFamily(
        "agentstate_event_hub_reconnects", "Times this process's event hub reconnected its pub/sub connection."
    )
    reconnects.add_metric([], feed.reconnects_total)
    gaps = CounterMetricFamily(
        "agentstate_event_hub_gaps",
        "Gaps (events that may be missing) this process's "
        "subscriptions saw, by reason: overflow, reconnect, unresponsive, topology.",
        labels=["reason"],
    )
    for reason in ("overflow", "reconnect", "unresponsive", "topology"):
        gaps.add_metric([reason], feed.gaps_total.get(reason, 0))
    return [events, reconnects, gaps]


class _Snapshot:
    """A collector that yields families already read (prometheus_client collects synchronously)."""

    def __init__(self, read: list[Metric]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        yield from self.read


async def exposition(fleet: Fleet) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(await families(fleet)))
    return generate_latest(registry)


async def metrics(request: Request) -> Response:
    return Response(await exposition(request.app.state.fleet), media_type=CONTENT_TYPE_LATEST)
