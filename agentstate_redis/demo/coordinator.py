"""The demo's coordinator: sets the fleet up, follows it live, pauses, kills, and checks the result."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import signal
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..backends.redis import RedisBackend
from ..embedded import EmbeddedRedis
from ..events import ChangeEvent
from ..keys import escape_glob
from ..orchestration.queue import QueueName
from .live import LiveView
from .report import DemoReport, collect_report
from .scenario import (
    DIGEST_EVERY,
    DIGEST_SCHEDULE,
    DIGEST_TEAM,
    POISON_TASK,
    TEAM,
    WORKFLOW,
    DemoSettings,
    enqueue_all,
    fault_worker,
    make_tasks,
    worker_capabilities,
    worker_name,
)
from .worker import worker_main

#: Signals that stop the demo the way a finished run ends: workers stopped, keys removed.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def run_demo(settings: DemoSettings, announce: Callable[[Coordinator], None] | None = None) -> DemoReport:
    """Run the whole scenario; returns the report (``report.ok`` says whether every invariant held).

    ``announce(coordinator)`` is called once the server answered and the team is set up, before
    the workers start (the command prints where to follow the run from there). Ctrl-C or SIGTERM
    stops the workers and removes the run's keys; the report then says ``interrupted``.
    """
    server: EmbeddedRedis | None = None
    if not settings.redis_url:
        server = EmbeddedRedis().start()
        settings.redis_url = server.url
    settings.prefix = f"{settings.prefix}{uuid.uuid4().hex[:8]}:"
    try:
        return await Coordinator(settings, embedded=server, announce=announce).run()
    finally:
        if server is not None:
            server.cleanup()


class Coordinator:
    def __init__(
        self,
        settings: DemoSettings,
        embedded: EmbeddedRedis | None,
        announce: Callable[[Coordinator], None] | None = None,
    ) -> None:
        from ..orchestration import OrchestrationStateManager
        from ..workflows import WorkflowStateManager

        self.settings = settings
        self.embedded = embedded
        self.announce = announce
        self.backend = RedisBackend(settings.redis_url, key_prefix=settings.prefix)
        self.orch = OrchestrationStateManager(
            backend=self.backend,
            sync_interval=settings.heartbeat,
            lease=settings.lease,
            max_attempts=6,
            completed_retention=max(1000, settings.tasks * 2),
        )
        self.workflows = WorkflowStateManager(backend=self.backend, checkpoint_interval=25)
        self.events: dict[str, int] = {}
        self.processes: dict[str, Any] = {}
        self.killed: str | None = None
        self.killed_task: str | None = None
        self.paused_for = 0.0
        self.reconciled = 0
        self.done = 0
        self.interrupted = asyncio.Event()

    async def run(self) -> DemoReport:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        handled = []
        for signum in STOP_SIGNALS:
            try:
                loop.add_signal_handler(signum, self._interrupt)
                handled.append(signum)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread: no handlers
                pass
        report: DemoReport | None = None
        removed: int | None = None
        failed = True
        try:
            await self.backend.connect()
            await self._setup()
            if self.announce is not None:
                self.announce(self)
            if not self.interrupted.is_set():
                report = await self._run_fleet(started)
            failed = False
        finally:
            for signum in handled:
                loop.remove_signal_handler(signum)
            try:
                removed = await self._cleanup() if self.embedded is None else None
            except Exception:
                if not failed:
                    raise  # otherwise the first error is the one to report
            await self.backend.close()
        if report is None:
            report = DemoReport(interrupted=True, tasks_done=self.done)
        report.keys_removed = removed
        return report

    def _interrupt(self) -> None:
        if self.interrupted.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting for the cleanup
        self.interrupted.set()

    async def _run_fleet(self, started: float) -> DemoReport | None:
        """Start the workers, follow them to the end, stop them; the report, or None if interrupted."""
        s = self.settings
        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        # Workers inherit a blocked SIGINT: Ctrl-C reaches the whole process group, and only the
        # coordinator may act on it (the workers stop when it sets ``stop``).
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            for i in range(s.workers):
                proc = ctx.Process(target=worker_main, args=(s, i, stop), name=worker_name(i), daemon=True)
                proc.start()
                self.processes[worker_name(i)] = proc
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        view = LiveView(s, enabled=s.live)
        try:
            with view:
                await self._follow(view, started)
        finally:
            stop.set()
            await asyncio.to_thread(self._join)
            with contextlib.suppress(Exception):  # its ticks stop with the fleet: the report counts them
                await self.orch.pause_schedule(DIGEST_TEAM, DIGEST_SCHEDULE)
        if self.interrupted.is_set():
            return None
        return await collect_report(self, time.perf_counter() - started)

    async def _setup(self) -> None:
        from ..orchestration import AgentCoordinationState, TeamState
        from ..workflows import WorkflowState

        s = self.settings
        agents = {
            worker_name(i): AgentCoordinationState(
                agent_id=worker_name(i), capabilities=worker_capabilities(i, s.workers)
            )
            for i in range(s.workers)
        }
        await self.orch.create_team(TeamState(team_id=TEAM, agents=agents))
        await self.workflows.create(WorkflowState(workflow_id=WORKFLOW, total_steps=s.tasks, name="demo fleet run"))
        await self.workflows.start(WORKFLOW)
        for kind in ("team", "wf", "agent", "tool", "toolcache"):
            await self.backend.events.subscribe(kind, "*", self._count)
        await enqueue_all(self.orch, TEAM, make_tasks(s))
        await self.orch.create_team(DIGEST_TEAM)
        digest = {"type": "digest", "data": {"topic": "fleet digest"}}
        await self.orch.add_schedule(DIGEST_TEAM, DIGEST_SCHEDULE, digest, every=DIGEST_EVERY, catchup="all")

    def _count(self, event: ChangeEvent) -> None:
        self.events[event.kind] = self.events.get(event.kind, 0) + 1

    async def _follow(self, view: LiveView, started: float) -> None:
        s = self.settings
        deadline = started + max(120.0, s.tasks * 0.5)
        while time.perf_counter() < deadline and not self.interrupted.is_set():
            await self.orch.reap(TEAM)
            queue = await self.orch.get_queue_status(TEAM, page_size=1)
            done = self.done = queue.completed_total + queue.dead_count
            alive = sum(1 for p in self.processes.values() if p.is_alive())
            status = (await self.workflows.get_status(WORKFLOW)).value
            view.update(
                done=done,
                in_progress=queue.in_progress_count,
                retries=queue.scheduled_count,
                dead=queue.dead_count,
                alive=alive,
                events=sum(self.events.values()),
                status=status,
            )
            if self.killed is None and done >= s.tasks * s.kill_at:
                await self._kill_a_busy_worker(view)
            if not self.paused_for and done >= s.tasks * s.pause_at:
                await self._pause_and_resume(view)
            if done >= s.tasks and queue.in_progress_count == 0 and queue.scheduled_count == 0:
                await self._reconcile_workflow(view)
                return
            if alive == 0:
                return
            await asyncio.sleep(0.1)

    async def _kill_a_busy_worker(self, view: LiveView) -> None:
        """SIGKILL a worker that holds a task; its lease runs out and another worker takes the task."""
        for task in await self.orch.list_tasks(TEAM, "in_progress", limit=50):
            proc = self.processes.get(task.agent_id or "")
            if (
                task.id == POISON_TASK
                or task.agent_id == fault_worker(self.settings)
                or proc is None
                or not proc.is_alive()
            ):
                continue
            os.kill(proc.pid, signal.SIGKILL)
            self.killed = task.agent_id
            after = await self.orch.get_task(TEAM, task.id)
            if after.status == "in_progress" and after.agent_id == self.killed:
                self.killed_task = task.id
                view.note(f"SIGKILLed {self.killed} while it held {task.id} (lease {self.settings.lease}s)")
            else:
                view.note(f"SIGKILLed {self.killed} (it had just finished {task.id})")
            return

    async def _pause_and_resume(self, view: LiveView) -> None:
        await self.workflows.pause(WORKFLOW)
        await self.orch.pause_team(TEAM)
        view.note("workflow and team paused: claims return nothing until resumed")
        begun = time.perf_counter()
        await asyncio.sleep(self.settings.pause_seconds)
        await self.orch.resume_team(TEAM)
        await self.workflows.resume(WORKFLOW)
        self.paused_for = time.perf_counter() - begun
        view.note(f"workflow resumed after {self.paused_for:.1f}s")

    async def _reconcile_workflow(self, view: LiveView) -> None:
        """Re-send the step of every finished task: harmless for steps already recorded, and it
        records those whose worker died between completing the task and reporting the step."""
        from ..workflows import StepState

        done = {
            step.step_number
            for step in await self.workflows.get_steps(WORKFLOW)
            if step.status.value in ("completed", "skipped")
        }
        queues: tuple[tuple[QueueName, str], ...] = (("completed", "completed"), ("dead", "skipped"))
        for queue, status in queues:
            offset = 0
            while page := await self.orch.list_tasks(TEAM, queue, offset=offset, limit=500):
                offset += len(page)
                for task in page:
                    if task.data["step"] not in done:
                        await self.workflows.update_step(
                            WORKFLOW, StepState(step_number=task.data["step"], status=status)
                        )
                        self.reconciled += 1
        if self.reconciled:
            view.note(f"reconciled {self.reconciled} workflow step(s) a killed worker never reported")

    def _join(self) -> None:
        for proc in self.processes.values():
            proc.join(timeout=20)
            if proc.is_alive():
                proc.kill()
                proc.join()

    async def _cleanup(self) -> int:
        """On a server we did not start, remove the demo's keys (and only those); how many."""
        removed = 0
        batch: list[str] = []
        async for key in self.backend.scan(escape_glob(self.settings.prefix) + "*"):
            batch.append(key)
            if len(batch) >= 500:
                removed += await self.backend.client.unlink(*batch)
                batch = []
        if batch:
            removed += await self.backend.client.unlink(*batch)
        return removed
