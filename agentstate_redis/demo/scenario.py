"""What the demo fleet does: its settings, team, tasks and tools, all derived from one seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

TEAM = "demo-fleet"
WORKFLOW = "demo-run"
POISON_TASK = "task-poison"
#: A schedule every worker process runs the scheduler of (one of them is SIGKILLed): its team's
#: tasks are its ticks, each enqueued once; nobody works them.
DIGEST_TEAM = "demo-fleet-digest"
DIGEST_SCHEDULE = "digest"
DIGEST_EVERY = 0.25
#: A small flow in the main team: the last FLOW_TASKS tasks each wait for FLOW_WIDTH earlier ones
#: (depends_on), so they are claimed only after those completed, and get their results.
FLOW_TASKS = 3
FLOW_WIDTH = 3
KINDS = {  # task type -> the tool its worker calls
    "research": "search_web",
    "analysis": "analyze_data",
    "writing": "summarize",
}
TOPICS = [
    "ai agents",
    "redis streams",
    "lua scripting",
    "fencing tokens",
    "kubernetes",
    "vector search",
    "rate limits",
    "consensus",
    "queues",
    "caching",
    "observability",
    "pub/sub",
]


@dataclass
class DemoSettings:
    workers: int = 4
    tasks: int = 200
    seed: int = 7
    redis_url: str | None = None
    prefix: str = "agentstate-demo:"
    lease: float = 1.5
    heartbeat: float = 0.4
    transient_failure_rate: float = 0.08
    work_seconds: tuple[float, float] = (0.01, 0.04)
    kill_at: float = 0.3  # SIGKILL one worker when this share of tasks is done
    pause_at: float = 0.55  # pause the workflow at this share, for pause_seconds
    pause_seconds: float = 0.8
    checkpoint_every: int = 10  # each worker checkpoints its agent every N completions
    fault: str | None = None  # "drop-completion": a worker reports a completion it never sent
    live: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.workers < 2:
            raise ValueError("the demo needs at least 2 workers (one is killed)")
        if self.tasks < 10:
            raise ValueError("the demo needs at least 10 tasks")


def worker_name(index: int) -> str:
    return f"worker-{index + 1}"


def fault_worker(settings: DemoSettings) -> str | None:
    """The worker that injects ``settings.fault`` (the coordinator never kills it)."""
    return worker_name(settings.workers - 1) if settings.fault else None


def worker_capabilities(index: int, workers: int) -> list[str]:
    """Every worker can do two of the three kinds (all three when there are only two workers)."""
    kinds = list(KINDS)
    if workers < 3:
        return kinds
    return [k for i, k in enumerate(kinds) if i != index % len(kinds)]


async def enqueue_all(orch: Any, team: str, tasks: list[dict[str, Any]]) -> list[str]:
    """Enqueue make_tasks' tasks: the independent ones in batches, the flow's in one enqueue_flow;
    returns the ids that were new (both are idempotent by id)."""
    new = await orch.enqueue_tasks(team, [t for t in tasks if not t.get("depends_on")])
    return list(new) + list(await orch.enqueue_flow(team, [t for t in tasks if t.get("depends_on")]))


def make_tasks(settings: DemoSettings) -> list[dict[str, Any]]:
    """M tasks of mixed kind and priority; the last one fails on every attempt, the FLOW_TASKS before
    it depend on FLOW_WIDTH tasks of the first half each."""
    rng = random.Random(settings.seed)
    tasks: list[dict[str, Any]] = []
    for i in range(settings.tasks - 1):
        kind = rng.choice(list(KINDS))
        tasks.append(
            {
                "id": f"task-{i + 1:05d}",
                "type": kind,
                "priority": rng.choices(["high", "normal", "low"], weights=[2, 5, 3])[0],
                "data": {"topic": rng.choice(TOPICS), "step": i + 1},
            }
        )
    first_half = [t["id"] for t in tasks[: len(tasks) // 2]]
    for task in tasks[-FLOW_TASKS:]:
        task["depends_on"] = rng.sample(first_half, FLOW_WIDTH)
    tasks.append(
        {
            "id": POISON_TASK,
            "type": "analysis",
            "priority": "high",
            "max_attempts": 3,
            "data": {"topic": "a tool that is down", "step": settings.tasks, "poison": True},
        }
    )
    return tasks
