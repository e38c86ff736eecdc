"""OrchestrationStateManager: teams, agents and the team task queue over one backend.

    >>> orch = OrchestrationStateManager(persistence="redis", sync_interval=1.0)
    >>> await orch.create_team(TeamState(team_id="research_team", agents={...}))
    >>> await orch.enqueue_task("research_team", {"id": "task_002", "type": "analysis", "priority": "high"})
    >>> task = await orch.claim_task("research_team", "researcher", wait=5)
    >>> await orch.complete_task("research_team", task.id, {"analysis": "..."}, token=task.token)
    >>> queue = await orch.get_queue_status("research_team")

Settings (all pods of a fleet should use the same ones):
``lease`` default claim lease (30 s); ``sync_interval`` heartbeat period of
``keep_alive`` (1 s); ``offline_after`` silence after which an agent that sent
heartbeats shows ``offline`` (10 x sync_interval); ``max_stalls`` lease expiries
before a task is dead-lettered (3); ``max_attempts`` default failures allowed
per task (3); ``backoff`` retry delays; ``completed_retention`` completed tasks
kept per team, older ones deleted (1000); ``dead_retention`` dead letters kept
per team, older ones deleted (10000); ``enqueue_dedupe_window`` seconds for
which the id of a task deleted by those caps or by ``purge_dead`` is still
refused by enqueue, so a producer re-sending it does not run it again (86400 =
24 h; at most 100000 such ids per team, oldest forgotten first); ``page_size``
tasks per queue in status reads (50); ``auto_prune_after`` seconds of silence
after which ``reap`` also prunes agents (None = never, the default);
``max_task_log_lines`` log lines kept per task by ``add_task_log`` (100). Events:
``subscribe_events("team-glob", callback)`` gets every change (kind ``team``,
ops enqueue/claim/assign/complete/fail/stalled/agent_removed/agents_pruned/...).

Agents: every id that registers, claims, is assigned or heartbeats joins the team
and stays until removed, and run_worker's default id is the pod hostname, so a
fleet must prune (bounded growth). ``await orch.remove_agent("t", "pod-7")``
removes one (False if unknown; InvalidTransitionError naming the agent and the
task while it holds an in-progress one). ``await orch.prune_agents("t", 3600)``
removes every agent silent (no heartbeat, claim, update, by the server clock) for
longer than that and holding no in-progress task, and returns their ids; each
script call examines about 500 agents and the method loops. Call it from a
coordinator periodically, or set ``auto_prune_after`` and call ``reap``.

Limits (limits.py): ``await orch.set_team_limits("t", max_in_progress=3, max_per_second=20)`` (or
per ``capability=``) caps concurrency and claims per second in every claim script, on the server clock.

Flows (flows/): ``await orch.enqueue_task("t", {"id": "w"}, depends_on=["r1", "r2"])`` makes a task wait
for others (``waiting``; pending once they completed, with their results in ``dependency_results``);
``enqueue_flow`` adds a whole graph at once, ``get_flow`` shows it, ``get_dependency_results`` reads results.

Schedules (schedules/): ``await orch.add_schedule("t", "poll", {"type": "poll"}, every=30)`` enqueues
one task per tick, exactly once however many schedulers run (``run_scheduler``, and every
``run_worker``); also ``pause_schedule``, ``resume_schedule``, ``remove_schedule``, ``list_schedules``.
"""

from __future__ import annotations

from .counters import COUNTER_FIELDS, TeamCounters, decode_counters
from .control import ControlOps
from .flows import FlowOps
from .limits import LimitOps
from .schedules import ScheduleOps


class OrchestrationStateManager(ScheduleOps, FlowOps, ControlOps, LimitOps):
    """Multi-agent team coordination and the team task queue (see the module docstring)."""

    # -- counters (a read added for the dashboard's /metrics; see counters.py) -----------------

    async def get_team_counters(self, team_id: str) -> TeamCounters:
        """The team's totals since it was created, counted by the scripts (NotFoundError if unknown).

        ``(await orch.get_team_counters("research_team")).completed_total``
        """
        k = self._team(team_id)
        values = await self.backend.run("orchestration/counters", [k.base], [team_id, *COUNTER_FIELDS])
        return decode_counters(team_id, [str(v) for v in values])
