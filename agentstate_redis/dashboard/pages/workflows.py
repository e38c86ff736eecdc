"""Workflows by status (from the library's status index), one workflow in full, and its actions.

GET  /workflows?status=running&after=<id>
GET  /workflow?workflow=W
POST /workflow/action  workflow, action=pause|resume|cancel[, reason]
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import AgentStateError, NotFoundError
from ...workflows import WorkflowState, WorkflowStatus
from ..render import render
from ..security import write_route
from .common import PAGE, back, cancel_reason, fleet, form_action, form_text, text_param
from .overview import workflow_counts

#: A workflow with this many steps or fewer shows all of them; a longer one its newest STEPS_SHOWN.
STEPS_SHOWN = 200
HISTORY = 50
CHECKPOINTS = 20
TERMINAL = {WorkflowStatus.COMPLETED, WorkflowStatus.FAILED, WorkflowStatus.CANCELLED}


async def workflows_page(request: Request) -> Response:
    wf = fleet(request).workflows
    status = request.query_params.get("status", WorkflowStatus.RUNNING.value)
    if status not in {s.value for s in WorkflowStatus}:
        raise HTTPException(400, f"status must be one of {', '.join(s.value for s in WorkflowStatus)}, got {status!r}")
    after = request.query_params.get("after") or None
    ids, counts = await asyncio.gather(wf.list_workflows(status, limit=PAGE, after=after), workflow_counts(request))

    async def one(workflow_id: str) -> WorkflowState | None:
        try:
            return await wf.get(workflow_id)
        except NotFoundError:
            return None

    rows = [w for w in await asyncio.gather(*(one(i) for i in ids)) if w is not None]
    return render(
        request,
        "workflows.html",
        title="Workflows",
        status=status,
        statuses=[s.value for s in WorkflowStatus],
        counts=counts,
        workflows=rows,
        more=(len(ids) == PAGE and ids[-1]) or None,
    )


async def workflow_page(request: Request) -> Response:
    wf = fleet(request).workflows
    workflow_id = text_param(request, "workflow")
    try:
        state = await wf.get(workflow_id)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    steps_call = (
        wf.get_steps(workflow_id) if state.total_steps <= STEPS_SHOWN else wf.step_history(workflow_id, STEPS_SHOWN)
    )
    steps, history, checkpoints = await asyncio.gather(
        steps_call, wf.history(workflow_id, limit=HISTORY), wf.list_checkpoints(workflow_id, limit=CHECKPOINTS)
    )
    actions = (
        []
        if state.status in TERMINAL
        else (["resume", "cancel"] if state.status == WorkflowStatus.PAUSED else ["pause", "cancel"])
    )
    return render(
        request,
        "workflow.html",
        title=f"Workflow {workflow_id}",
        wf=state,
        steps=steps,
        history=history,
        checkpoints=checkpoints,
        actions=actions,
        all_steps=state.total_steps <= STEPS_SHOWN,
    )


@write_route
async def workflow_action(request: Request) -> Response:
    form = await request.form()
    workflow_id, action = form_text(form, "workflow"), form_action(form, ("pause", "resume", "cancel"))
    wf = fleet(request).workflows
    try:
        if action == "cancel":
            state = await wf.cancel(workflow_id, reason=cancel_reason(form))
        else:
            state = await getattr(wf, action)(workflow_id)
    except AgentStateError as exc:
        return back(request, "workflow", workflow=workflow_id, err=str(exc))
    return back(request, "workflow", workflow=workflow_id, msg=f"workflow {action}: now {state.status.value}")


routes = [
    Route("/workflows", workflows_page, name="workflows"),
    Route("/workflow", workflow_page, name="workflow"),
    Route("/workflow/action", workflow_action, methods=["POST"], name="workflow_action"),
]
