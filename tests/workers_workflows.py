"""Worker functions run in separate processes by the workflow tests."""

from __future__ import annotations

import asyncio
from typing import Any

from agentstate_redis import (
    InvalidTransitionError,
    LeaseError,
    RedisBackend,
    StateManager,
    StepState,
    WorkflowStateManager,
)

from .waiting import eventually


def _manager(url: str, prefix: str, **options: Any) -> WorkflowStateManager:
    return WorkflowStateManager(backend=RedisBackend(url, key_prefix=prefix), **options)


def complete_steps(url: str, prefix: str, workflow_id: str, steps: list[int]) -> int:
    """Complete each step, then send every update a second time (a retrying client)."""

    async def run() -> int:
        wf = _manager(url, prefix)
        for n in steps:
            await wf.update_step(
                workflow_id, StepState(step_number=n, status="completed", result=n), context={f"s{n}": n}
            )
        for n in steps:
            await wf.update_step(workflow_id, StepState(step_number=n, status="completed", result=n))
        await wf.backend.close()
        return len(steps)

    return asyncio.run(run())


def drive_until_done(url: str, prefix: str, workflow_id: str, total: int) -> dict[str, Any]:
    """Process B: run steps in order; when refused, report it and wait for the resume."""

    async def run() -> dict[str, Any]:
        wf = _manager(url, prefix)
        flags = StateManager(backend=wf.backend)
        refusals: list[dict[str, Any]] = []
        await eventually(lambda: flags.get("a_ready"), 30.0, "A to start watching", interval=0.01)
        n = 1
        while n <= total:
            try:
                await wf.update_step(workflow_id, StepState(step_number=n, status="completed"))
                n += 1
                await asyncio.sleep(0.001)  # pacing only: let A see progress before B is done
            except InvalidTransitionError as exc:
                refusals.append({"step": n, "status": exc.status, "op": exc.op})
                await flags.save("refused", {"step": n})

                async def running() -> bool:
                    return (await wf.get_status(workflow_id)).value == "running"

                await eventually(running, 30.0, "the resume", interval=0.01)
        await wf.backend.close()
        return {"refusals": refusals}

    return asyncio.run(run())


def pause_then_resume(url: str, prefix: str, workflow_id: str, pause_after: int) -> dict[str, Any]:
    """Process A: pause once B has made progress, wait until B was refused, check, resume."""

    async def run() -> dict[str, Any]:
        wf = _manager(url, prefix)
        flags = StateManager(backend=wf.backend)

        await flags.save("a_ready", {"ok": True})

        async def progressed() -> bool:
            return (await wf.get(workflow_id)).current_step >= pause_after

        await eventually(progressed, 30.0, "B's progress", interval=0.01)
        paused = await wf.pause(workflow_id)
        await eventually(lambda: flags.get("refused"), 30.0, "B's refusal", interval=0.01)
        still = await wf.get(workflow_id)
        await wf.resume(workflow_id)
        await wf.backend.close()
        return {
            "paused_step": paused.current_step,
            "paused_version": paused.version,
            "before_resume_step": still.current_step,
            "before_resume_version": still.version,
        }

    return asyncio.run(run())


def collect_events(url: str, prefix: str, glob: str, until_op: str) -> None:
    """Subscribe, say "ready", collect events until one with op ``until_op``, store them."""

    async def run() -> None:
        wf = _manager(url, prefix)
        flags = StateManager(backend=wf.backend)
        seen: list[dict[str, Any]] = []
        finished = asyncio.Event()

        def on_event(ev: Any) -> None:
            seen.append(
                {
                    "id": ev.workflow_id,
                    "op": ev.op,
                    "version": ev.version,
                    "status": ev.status and ev.status.value,
                    "step": ev.step_number,
                    "checkpoint": ev.checkpoint_id,
                }
            )
            if ev.op == until_op:
                finished.set()

        await wf.subscribe(glob, on_event)
        await flags.save("ready", {"ok": True})
        await asyncio.wait_for(finished.wait(), timeout=60)
        await flags.save("events", {"events": seen})
        await wf.backend.close()

    asyncio.run(run())


def grab_lease(url: str, prefix: str, workflow_id: str, owner: str) -> int:
    """Try to take the workflow's lease once: the token, or 0 if someone else holds it."""

    async def run() -> int:
        wf = _manager(url, prefix)
        try:
            return await wf.acquire_lease(workflow_id, owner, ttl=60)
        except LeaseError:
            return 0
        finally:
            await wf.backend.close()

    return asyncio.run(run())


def run_into(target: Any, args: tuple[Any, ...], results: Any, name: str) -> None:
    """Run ``target(*args)`` and put ``(name, result)`` (or an error dict) on ``results``."""
    try:
        results.put((name, target(*args)))
    except BaseException as exc:  # noqa: BLE001 - report to the parent
        results.put((name, {"error": repr(exc)}))
