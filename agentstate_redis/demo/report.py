"""The demo's final report and the invariants it checks (exit code 1 if any fails)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from .scenario import (
    DIGEST_EVERY,
    DIGEST_SCHEDULE,
    DIGEST_TEAM,
    FLOW_TASKS,
    KINDS,
    POISON_TASK,
    TEAM,
    WORKFLOW,
    make_tasks,
    worker_name,
)


@dataclass
class DemoReport:
    figures: dict[str, Any] = field(default_factory=dict)
    invariants: dict[str, bool] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)
    #: Stopped by Ctrl-C or SIGTERM before the fleet finished: no figures, no invariants checked.
    interrupted: bool = False
    #: Tasks completed or dead-lettered when the run ended (also when interrupted).
    tasks_done: int = 0
    #: Keys removed from a server the demo did not start (None on its own embedded server).
    keys_removed: int | None = None

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(self.invariants.values())

    @property
    def failed_invariants(self) -> list[str]:
        return [name for name, ok in self.invariants.items() if not ok]

    def print(self, console: Console | None = None) -> None:
        console = console or Console()
        table = Table(title="agentstate demo", show_header=True, header_style="bold")
        table.add_column("measure")
        table.add_column("value", justify="right")
        for name, value in self.figures.items():
            table.add_row(name, f"{value:.2f}" if isinstance(value, float) else str(value))
        console.print(table)
        for name, ok in self.invariants.items():
            console.print(f"  {'[green]✓[/]' if ok else '[red]✗[/]'} {name}")
        for line in self.details:
            console.print(f"    {line}", highlight=False)


async def _all(orch: Any, queue: str, team: str = TEAM) -> list[Any]:
    out: list[Any] = []
    while True:
        page = await orch.list_tasks(team, queue, offset=len(out), limit=500)
        out += page
        if len(page) < 500:
            return out


async def _flow_ran_in_order(orch: Any, settings: Any, details: list[str]) -> bool:
    """Each task with dependencies completed, claimed (started) no earlier than the last of its
    dependencies finished by the server clock, and handed exactly their results."""
    ok = True
    for spec in (t for t in make_tasks(settings) if t.get("depends_on")):
        task = await orch.get_task(TEAM, spec["id"])
        deps = [await orch.get_task(TEAM, d) for d in spec["depends_on"]]
        last = max(d.finished_at or 0.0 for d in deps)
        inputs = (task.result or {}).get("inputs")
        if task.status != "completed" or (task.started_at or 0.0) < last or inputs != sorted(spec["depends_on"]):
            ok = False
            details.append(
                f"flow task {task.id}: {task.status}, started {task.started_at}, dependencies done "
                f"{last}, handed {inputs}"
            )
    return ok


async def collect_report(coord: Any, elapsed: float) -> DemoReport:
    from ..agents import AgentStateStore
    from ..state import StateManager
    from ..tools import ToolStateManager

    s = coord.settings
    orch, backend = coord.orch, coord.backend
    state = StateManager(backend=backend)
    completed = await _all(orch, "completed")
    dead = await _all(orch, "dead")
    queue = await orch.get_queue_status(TEAM, page_size=1)
    reports = {name: await state.get(f"report:{name}") for name in (worker_name(i) for i in range(s.workers))}
    store = AgentStateStore(backend=backend)
    checkpoints = 0
    for name in reports:
        checkpoints += len(await store.list_checkpoints(name))
    tools = ToolStateManager(backend=backend)
    hits = misses = 0
    for tool in KINDS.values():
        stats = await tools.get_tool_stats(tool)
        hits += stats.cache_hits
        misses += stats.cache_misses
    workflow = await coord.workflows.get(WORKFLOW)
    (digest,) = [x for x in await orch.list_schedules(DIGEST_TEAM) if x.schedule_id == DIGEST_SCHEDULE]
    ticks = sorted(int(t.id.rsplit("@", 1)[1]) for t in await _all(orch, "pending", DIGEST_TEAM))
    step = round(DIGEST_EVERY * 1000)

    flow_details: list[str] = []
    flow_ok = await _flow_ran_in_order(orch, s, flow_details)

    by_worker: dict[str, list[str]] = {}
    for task in completed:
        by_worker.setdefault(task.completed_by or "?", []).append(task.id)
    ops = sum(r["ops"] for r in reports.values() if r)
    report = DemoReport(tasks_done=len(completed) + len(dead))
    report.figures = {
        "workers (one SIGKILLed)": s.workers,
        "tasks": s.tasks,
        "completed exactly once": len({t.id for t in completed}),
        "recovered after the kill": sum(1 for t in completed if t.stalls > 0),
        "retried then completed": sum(1 for t in completed if t.failures > 0),
        "dead letters": len(dead),
        "tool cache hit rate": hits / (hits + misses) if hits + misses else 0.0,
        "agent checkpoints kept": checkpoints,
        "events seen by the coordinator": sum(coord.events.values()),
        "workflow": f"{workflow.status.value} ({workflow.completed_steps}/{workflow.total_steps} steps)",
        "workflow steps reconciled": coord.reconciled,
        f"schedule ticks (every {DIGEST_EVERY}s, a scheduler in each worker)": len(ticks),
        "flow tasks (each waiting on 3 others)": FLOW_TASKS,
        "elapsed (s)": elapsed,
        "operations per second": ops / elapsed if elapsed else 0.0,
    }
    ids = [t.id for t in completed]
    survivors = {name: sorted(r["completed"]) for name, r in reports.items() if r}
    mismatched = {
        name: {"reported": done, "accepted": sorted(by_worker.get(name, []))}
        for name, done in survivors.items()
        if done != sorted(by_worker.get(name, []))
    }
    report.invariants = {
        "no task lost or stuck (all completed or dead)": len(completed) + len(dead) == s.tasks
        and queue.pending_count == queue.in_progress_count == queue.scheduled_count == 0,
        "each task completed exactly once": len(ids) == len(set(ids)),
        "every worker's accepted completions match the queue": not mismatched,
        "only the poisoned task is dead": [t.id for t in dead] == [POISON_TASK],
        "the dead letter kept its error history": bool(dead) and len(dead[0].errors) == dead[0].failures >= 3,
        "the killed worker's task was recovered": coord.killed_task is None
        or any(t.id == coord.killed_task and t.completed_by != coord.killed for t in completed)
        or coord.killed_task == POISON_TASK,
        "the workflow completed after pause/resume": workflow.status.value == "completed" and bool(coord.paused_for),
        "each flow task ran after its dependencies, with their results": flow_ok,
        "each schedule tick enqueued exactly once, none missed": bool(ticks)
        and digest.runs == len(ticks)
        and ticks == list(range(ticks[0], ticks[0] + step * len(ticks), step)),
    }
    report.details += flow_details
    if mismatched:
        for name, both in mismatched.items():
            extra = sorted(set(both["reported"]) ^ set(both["accepted"])) or "duplicates"
            report.details.append(f"{name}: reported completions differ from the queue's: {extra}")
    for task in dead:
        if task.id != POISON_TASK:
            report.details.append(f"unexpected dead letter {task.id}: {task.errors}")
    if dead and len(dead[0].errors) != dead[0].failures:
        report.details.append(f"dead letter {dead[0].id}: {dead[0].failures} failures, errors {dead[0].errors}")
    if coord.killed:
        report.details.append(f"{coord.killed} was SIGKILLed holding {coord.killed_task}")
    return report
