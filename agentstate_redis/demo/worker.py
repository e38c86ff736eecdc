"""One demo worker process: claim, heartbeat, call tools, record activity, checkpoint, complete."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from typing import Any

from ..backends.redis import RedisBackend
from ..errors import InvalidTransitionError
from .scenario import DIGEST_TEAM, KINDS, TEAM, WORKFLOW, DemoSettings, fault_worker, worker_capabilities, worker_name


class TransientToolError(RuntimeError):
    """A simulated, retryable tool failure."""


class Worker:
    def __init__(self, settings: DemoSettings, index: int) -> None:
        from ..agents import AgentStateStore, AgentTracker
        from ..orchestration import Backoff, OrchestrationStateManager
        from ..state import StateManager
        from ..tools import ToolStateManager
        from ..workflows import WorkflowStateManager

        self.settings = settings
        self.name = worker_name(index)
        self.capabilities = worker_capabilities(index, settings.workers)
        self.rng = random.Random(settings.seed * 1000 + index)
        self.backend = RedisBackend(settings.redis_url, key_prefix=settings.prefix)
        self.orch = OrchestrationStateManager(
            sync_interval=settings.heartbeat,
            lease=settings.lease,
            max_attempts=6,
            backoff=Backoff(kind="exponential", delay=0.1, max_delay=1.0, jitter=0.2),
            completed_retention=max(1000, settings.tasks * 2),
            backend=self.backend,
        )
        self.tools = ToolStateManager(cache_ttl=60, backend=self.backend)
        self.workflows = WorkflowStateManager(backend=self.backend)
        self.state = StateManager(backend=self.backend)
        self.tracker = AgentTracker(AgentStateStore(max_checkpoints=20, backend=self.backend), self.name)
        self.completed: list[str] = []
        self.pending_steps: list[dict[str, Any]] = []
        self.ops = 0
        self.dropped_one = False

    async def run(self, stop: Any) -> None:
        """Work the team's queue on the library's Worker until the coordinator sets ``stop`` (a
        multiprocessing Event) or SIGTERM arrives; then save this worker's report."""
        from ..worker import Worker, WorkerSettings, run_scheduler

        halt = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, halt.set)
        watcher = asyncio.ensure_future(self._watch(stop, halt))
        # every worker also runs the digest team's scheduler (its own team has no schedules)
        scheduler = asyncio.ensure_future(run_scheduler(self.orch, DIGEST_TEAM, stop=halt, install_signals=False))
        # while the coordinator has the team paused (pause_team) claims return None after the wait
        settings = WorkerSettings(
            capabilities=tuple(self.capabilities), claim_wait=0.3, grace=5.0, schedules=False, install_signals=False
        )
        worker = Worker(
            self.orch, TEAM, self.name, self._work_on, settings, on_outcome=self._outcome, on_idle=self._flush_steps
        )
        await worker.run(halt)
        halt.set()
        await scheduler
        watcher.cancel()
        await self._flush_steps()
        await self.state.save(f"report:{self.name}", {"completed": self.completed, "ops": self.ops, "pid": os.getpid()})
        await self.backend.close()

    @staticmethod
    async def _watch(stop: Any, halt: asyncio.Event) -> None:
        """The coordinator's multiprocessing Event, seen by this process's loop."""
        while not stop.is_set():
            await asyncio.sleep(0.05)
        halt.set()

    async def _work_on(self, task: Any) -> dict[str, Any]:
        """The handler: call the task's tool (through the shared cache); its result is the task's."""
        self.ops += 1  # the claim
        tool = KINDS[task.type]
        params = {"topic": task.data["topic"]}
        execution_id = f"{task.id}#{task.attempts}"
        from ..tools import ToolExecution

        await self.tools.start_execution(ToolExecution(execution_id=execution_id, tool_name=tool, parameters=params))
        await self.tracker.record_approval(tool, True, "once", params)
        await self.tracker.record_tool_usage(tool)
        self.ops += 3
        try:
            result = await self.tools.get_or_compute(tool, params, lambda: self._call_tool(task), ttl=60)
            self.ops += 1
        except TransientToolError as exc:
            await self.tools.fail_execution(execution_id, str(exc), tool_name=tool)
            self.ops += 1
            raise  # the Worker fails the attempt: retried with backoff, a dead letter after max_attempts
        await asyncio.sleep(self.rng.uniform(*self.settings.work_seconds))
        await self.tools.complete_execution(execution_id, result, 10, tool_name=tool)
        self.ops += 1
        if (
            self.settings.fault == "drop-completion"
            and self.name == fault_worker(self.settings)
            and not self.dropped_one
        ):
            # the test hook: report a completion the queue never accepts (the attempt fails instead)
            self.dropped_one = True
            self.completed.append(task.id)
            raise TransientToolError("completion dropped by the drop-completion fault")
        return {"worker": self.name, "result": result, "inputs": sorted(task.dependency_results)}

    async def _outcome(self, task: Any, outcome: str, stored: Any) -> None:
        """After each task: record an accepted completion (workflow step, activity, checkpoints) or a
        dead letter's skipped step, then report finished steps to the workflow."""
        self.ops += 1
        if outcome == "completed":
            self.completed.append(task.id)
            self.pending_steps.append({"step_number": task.data["step"], "status": "completed"})
            await self.tracker.update_workflow_state(run_id=WORKFLOW, status="running", current_node=task.id)
            self.ops += 1
            if len(self.completed) % self.settings.checkpoint_every == 0:
                await self.tracker.capture_state(
                    {"completed": len(self.completed), "last": task.id}, step=len(self.completed)
                )
                self.ops += 1
        elif outcome == "failed" and stored is not None and stored.status == "dead":
            self.pending_steps.append({"step_number": task.data["step"], "status": "skipped", "error": "dead letter"})
        await self._flush_steps()

    async def _call_tool(self, task: Any) -> dict[str, Any]:
        await asyncio.sleep(self.rng.uniform(*self.settings.work_seconds))
        if task.data.get("poison"):
            raise TransientToolError(f"{KINDS[task.type]} is down")
        if self.rng.random() < self.settings.transient_failure_rate:
            raise TransientToolError(f"{KINDS[task.type]} timed out")
        return {"summary": f"{task.data['topic']} ({KINDS[task.type]})"}

    async def _flush_steps(self) -> None:
        """Report finished steps to the workflow; while it is paused they wait here."""
        from ..workflows import StepState

        while self.pending_steps:
            step = self.pending_steps[0]
            try:
                await self.workflows.update_step(WORKFLOW, StepState(**step))
                self.ops += 1
            except InvalidTransitionError:
                return
            self.pending_steps.pop(0)


def worker_main(settings: DemoSettings, index: int, stop: Any) -> None:
    """Process entry point."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(Worker(settings, index).run(stop))
