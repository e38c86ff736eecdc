"""A team: its state (running or paused), claim limits and totals, its queues a page at a time, one
task in full, and its dead letters (retry, purge).

    GET  /team?team=T&queue=pending&offset=0
    GET  /task?team=T&task=X
    GET  /dead                      every listed team's dead-letter count
    GET  /dead?team=T&offset=0      a team's dead letters, each with its errors
    POST /dead/retry  team, task (repeated) or all=1      -> retry_dead
    POST /dead/purge  team, task (repeated) or all=1      -> purge_dead
    POST /team/action team, action=pause|resume           -> pause_team / resume_team
    POST /task/cancel team, task[, reason]                 -> cancel_task

QUEUES lists what ``list_tasks`` can page; a queue the library adds later is one more entry here,
and its count one more key of ``counts``.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import AgentStateError, NotFoundError
from ...orchestration import Task
from ...orchestration.queue import QueueName
from ..render import render
from ..security import write_route
from .common import PAGE, back, cancel_reason, fleet, form_action, form_text, int_param, text_param
from .overview import team_rows

#: (queue name for list_tasks, label, TaskQueueState count field).
QUEUES = (
    ("pending", "Pending", "pending_count"),
    ("waiting", "Waiting for dependencies", "waiting_count"),
    ("in_progress", "In progress", "in_progress_count"),
    ("retry", "Waiting to retry", "scheduled_count"),
    ("delayed", "Delayed", "delayed_count"),
    ("completed", "Completed", "completed_count"),
    ("dead", "Dead", "dead_count"),
    ("cancelled", "Cancelled", "cancelled_count"),
)
#: Statuses a task may be cancelled from (the others are finished).
CANCELLABLE = ("pending", "waiting", "delayed", "retry", "in_progress")
#: Task fields shown on the task page when the library has them (slots for features to come).
OPTIONAL_TASK_FIELDS = ("progress", "logs")
#: Dead letters retried or purged per script call by "all" (the method loops until none are left).
BATCH = 500


async def _team(request: Request, team_id: str) -> Any:
    try:
        return await fleet(request).orch.get_team(team_id)
    except NotFoundError:
        raise HTTPException(404, f"team {team_id!r} not found") from None


def counts(team: Any) -> dict[str, int]:
    q = team.task_queue
    return {name: getattr(q, field) for name, _, field in QUEUES}


async def team_page(request: Request) -> Response:
    team_id = text_param(request, "team")
    queue = request.query_params.get("queue", "pending")
    if queue not in {q[0] for q in QUEUES}:
        raise HTTPException(400, f"queue must be one of {', '.join(q[0] for q in QUEUES)}, got {queue!r}")
    offset = int_param(request, "offset", 0)
    team = await _team(request, team_id)
    orch = fleet(request).orch
    try:
        # QUEUES names only list_tasks' queues, and the check above refused every other value
        tasks, limits, counters = await asyncio.gather(
            orch.list_tasks(team_id, cast(QueueName, queue), offset=offset, limit=PAGE + 1),
            orch.get_team_limits(team_id),
            orch.get_team_counters(team_id),
        )
    except NotFoundError:
        raise HTTPException(404, f"team {team_id!r} not found") from None
    return render(
        request,
        "team.html",
        title=f"Team {team_id}",
        team=team,
        team_id=team_id,
        queue=queue,
        label=next(label for name, label, _ in QUEUES if name == queue),
        queues=QUEUES,
        counts=counts(team),
        tasks=tasks[:PAGE],
        offset=offset,
        page=PAGE,
        more=len(tasks) > PAGE,
        agents=sorted(team.agents.values(), key=lambda a: a.agent_id),
        limits=limits,
        counters=counters,
    )


async def task_page(request: Request) -> Response:
    team_id, task_id = text_param(request, "team"), text_param(request, "task")
    try:
        task = await fleet(request).orch.get_task(team_id, task_id)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    optional = {name: getattr(task, name) for name in OPTIONAL_TASK_FIELDS if name in Task.model_fields}
    return render(
        request,
        "task.html",
        title=f"Task {task_id}",
        team_id=team_id,
        task=task,
        optional=optional,
        cancellable=task.status in CANCELLABLE,
        queue_names=[q[0] for q in QUEUES],
    )


async def dead_page(request: Request) -> Response:
    team_id = request.query_params.get("team", "")
    if not team_id:
        f = fleet(request)
        after = request.query_params.get("after") or None
        ids = f.directory.page("team", after, PAGE)
        rows = await team_rows(request, ids)
        return render(
            request, "dead_teams.html", title="Dead letters", teams=rows, more=(len(ids) == PAGE and ids[-1]) or None
        )
    offset = int_param(request, "offset", 0)
    team = await _team(request, team_id)
    tasks = await fleet(request).orch.list_dead(team_id, offset=offset, limit=PAGE + 1)
    return render(
        request,
        "dead.html",
        title=f"Dead letters of {team_id}",
        team_id=team_id,
        dead_count=team.task_queue.dead_count,
        tasks=tasks[:PAGE],
        offset=offset,
        page=PAGE,
        more=len(tasks) > PAGE,
    )


async def _dead_action(request: Request, action: str) -> Response:
    form = await request.form()
    team_id = form_text(form, "team")
    ids = [t for t in form.getlist("task") if isinstance(t, str) and t]
    every = form.get("all") == "1"
    if not ids and not every:
        return back(request, "dead", team=team_id, err="choose dead letters first")
    orch = fleet(request).orch
    method = orch.retry_dead if action == "retry" else orch.purge_dead
    try:
        if every:
            done: list[str] = []
            while True:
                batch = await method(team_id, None, limit=BATCH)
                done += batch
                if len(batch) < BATCH:
                    break
        else:
            done = await method(team_id, ids, limit=max(len(ids), 1))
    except AgentStateError as exc:
        return back(request, "dead", team=team_id, err=str(exc))
    verb = "retried (back in pending)" if action == "retry" else "purged"
    return back(request, "dead", team=team_id, msg=f"{len(done)} dead letter{'s' * (len(done) != 1)} {verb}")


@write_route
async def dead_retry(request: Request) -> Response:
    return await _dead_action(request, "retry")


@write_route
async def dead_purge(request: Request) -> Response:
    return await _dead_action(request, "purge")


@write_route
async def team_action(request: Request) -> Response:
    form = await request.form()
    team_id, action = form_text(form, "team"), form_action(form, ("pause", "resume"))
    orch = fleet(request).orch
    try:
        changed = await (orch.pause_team(team_id) if action == "pause" else orch.resume_team(team_id))
    except AgentStateError as exc:
        return back(request, "team", team=team_id, err=str(exc))
    state = "paused" if action == "pause" else "running"
    return back(request, "team", team=team_id, msg=f"team {state}" if changed else f"team was already {state}")


@write_route
async def task_cancel(request: Request) -> Response:
    form = await request.form()
    team_id, task_id = form.get("team"), form.get("task")
    if not isinstance(team_id, str) or not team_id or not isinstance(task_id, str) or not task_id:
        raise HTTPException(400, "the form fields 'team' and 'task' are required")
    try:
        task = await fleet(request).orch.cancel_task(team_id, task_id, reason=cancel_reason(form))
    except AgentStateError as exc:
        return back(request, "task", team=team_id, task=task_id, err=str(exc))
    return back(request, "task", team=team_id, task=task_id, msg=f"task {task.status}")


routes = [
    Route("/team", team_page, name="team"),
    Route("/task", task_page, name="task"),
    Route("/dead", dead_page, name="dead"),
    Route("/dead/retry", dead_retry, methods=["POST"], name="dead_retry"),
    Route("/dead/purge", dead_purge, methods=["POST"], name="dead_purge"),
    Route("/team/action", team_action, methods=["POST"], name="team_action"),
    Route("/task/cancel", task_cancel, methods=["POST"], name="task_cancel"),
]
