"""Worker processes for the orchestration multi-process tests (each builds its own backend)."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from agentstate_redis import LeaseError, OrchestrationStateManager, RedisBackend, TaskCancelledError
from agentstate_redis.orchestration import Backoff

from .queue_left import nothing_left


def _manager(redis_url: str, prefix: str, **options: Any) -> OrchestrationStateManager:
    return OrchestrationStateManager(backend=RedisBackend(redis_url, key_prefix=prefix), **options)


def chaos_worker(redis_url: str, prefix: str, team: str, agent_id: str, records_key: str) -> None:
    """Claim, work (a few ms), complete until the queue is empty; record each accepted completion.

    Tasks whose data says ``fail_once`` fail their first attempt, ``always_fail`` every attempt,
    ``slow_first`` outlive their lease on the first attempt and then try to complete late.
    The parent SIGKILLs these processes at random moments.
    """
    asyncio.run(_chaos(redis_url, prefix, team, agent_id, records_key))


async def _chaos(redis_url: str, prefix: str, team: str, agent_id: str, records_key: str) -> None:
    orch = _manager(
        redis_url, prefix, lease=1.0, max_stalls=50, backoff=Backoff(kind="fixed", delay=0), completed_retention=10_000
    )
    async with orch:
        client = orch.backend.client
        while True:
            task = await orch.claim_task(team, agent_id, wait=0.5)
            if task is None:
                if await nothing_left(orch, team):
                    return
                continue
            mode = (task.data or {}).get("mode")
            if mode == "slow_first" and task.attempts == 1:
                await asyncio.sleep(1.6)  # outlives the 1 s lease (no heartbeat): presumed dead
            await asyncio.sleep(random.uniform(0.002, 0.012))  # the "work"
            try:
                if mode == "always_fail" or (mode == "fail_once" and task.failures == 0):
                    await orch.fail_task(team, task.id, f"made to fail (attempt {task.attempts})", token=task.token)
                    continue
                await orch.complete_task(team, task.id, {"by": agent_id}, token=task.token)
            except LeaseError:
                await client.rpush(records_key + ":refused", f"{task.id}|{task.token}")
                continue  # our lease expired and someone else holds the task now
            await client.rpush(records_key, f"{task.id}|{task.token}")


def claim_all(redis_url: str, prefix: str, team: str, agent_id: str) -> list[tuple[str, int]]:
    """Claim and complete until nothing is left; return every (task id, token) claimed."""
    return asyncio.run(_claim_all(redis_url, prefix, team, agent_id))


async def _claim_all(redis_url: str, prefix: str, team: str, agent_id: str) -> list[tuple[str, int]]:
    claimed = []
    async with _manager(redis_url, prefix) as orch:
        while (task := await orch.claim_task(team, agent_id)) is not None:
            claimed.append((task.id, task.token))
            await orch.complete_task(team, task.id, None, token=task.token)
    return claimed


def flip_statuses(redis_url: str, prefix: str, team: str, index: int, rounds: int) -> dict[str, Any]:
    """Change the status and capabilities of this process's agents at random; return the final ones."""
    return asyncio.run(_flip(redis_url, prefix, team, index, rounds))


async def _flip(redis_url: str, prefix: str, team: str, index: int, rounds: int) -> dict[str, Any]:
    rng = random.Random(index)
    agents = [f"p{index}-a{j}" for j in range(8)]
    final: dict[str, Any] = {}
    async with _manager(redis_url, prefix) as orch:
        for _ in range(rounds):
            agent = rng.choice(agents)
            status = rng.choice(["idle", "working", "busy"])
            caps = rng.choice([["research"], ["writing"], ["research", "writing"]])
            await orch.update_agent_status(team, agent, status, capabilities=caps)
            final[agent] = (status, caps)
    return final


def control_worker(
    redis_url: str, prefix: str, team: str, agent_id: str, records_key: str, sync_interval: float, idle_exit: float
) -> None:
    """Claim, work (``data["ms"]`` ms under keep_alive), complete; record outcomes in Redis lists.

    ``records_key`` gets ``<id>|<token>`` per accepted completion, ``:cancelled`` gets
    ``<id>|<epoch s when keep_alive raised>|<late completion refused: 1/0>``, ``:claims`` gets
    ``<id>|<started_at>`` per claim. Exits after ``idle_exit`` s with no claim and nothing
    pending, delayed or in progress.
    """
    asyncio.run(_control(redis_url, prefix, team, agent_id, records_key, sync_interval, idle_exit))


async def _control(
    redis_url: str, prefix: str, team: str, agent_id: str, records_key: str, sync_interval: float, idle_exit: float
) -> None:
    orch = _manager(redis_url, prefix, lease=30, sync_interval=sync_interval, completed_retention=10_000)
    async with orch:
        client = orch.backend.client
        await orch.heartbeat(team, agent_id)  # joins the team: the parent sees the worker is up
        idle_since = asyncio.get_running_loop().time()
        while True:
            task = await orch.claim_task(team, agent_id, wait=0.2)
            if task is None:
                idle = await nothing_left(orch, team, ("pending", "in_progress", "delayed", "scheduled"))
                if idle and asyncio.get_running_loop().time() - idle_since > idle_exit:
                    return
                continue
            idle_since = asyncio.get_running_loop().time()
            await client.rpush(records_key + ":claims", f"{task.id}|{task.started_at}")
            try:
                async with orch.keep_alive(team, agent_id):
                    await asyncio.sleep((task.data or {}).get("ms", 5) / 1000)
            except TaskCancelledError:
                seen = time.time()
                try:
                    await orch.complete_task(team, task.id, {"late": True}, token=task.token)
                    refused = "0"
                except TaskCancelledError:
                    refused = "1"
                await client.rpush(records_key + ":cancelled", f"{task.id}|{seen}|{refused}")
                continue
            try:
                await orch.complete_task(team, task.id, {"by": agent_id}, token=task.token)
            except TaskCancelledError:
                continue  # cancelled after the last heartbeat: refused, as it must be
            await client.rpush(records_key, f"{task.id}|{task.token}")


def limits_worker(redis_url: str, prefix: str, team: str, agent_id: str, records_key: str, idle_exit: float) -> None:
    """Claim (``wait``), then complete_and_claim task after task (``data["ms"]`` ms each).

    ``records_key`` gets ``<id>|<started_at ms, server clock>|<how: claim/next>`` per task started.
    Exits after ``idle_exit`` s with no task and nothing pending or in progress.
    """
    asyncio.run(_limits(redis_url, prefix, team, agent_id, records_key, idle_exit))


async def _limits(redis_url: str, prefix: str, team: str, agent_id: str, records_key: str, idle_exit: float) -> None:
    orch = _manager(redis_url, prefix, lease=30, completed_retention=10_000)
    async with orch:
        client = orch.backend.client
        await orch.heartbeat(team, agent_id)  # joins the team: the parent sees the worker is up
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        task, how = None, "claim"
        while True:
            if task is None:
                task, how = await orch.claim_task(team, agent_id, wait=0.2), "claim"
            if task is None:
                if await nothing_left(orch, team, ("pending", "in_progress")) and loop.time() - idle_since > idle_exit:
                    return
                continue
            idle_since = loop.time()
            await client.rpush(records_key, f"{task.id}|{round((task.started_at or 0) * 1000)}|{how}")
            await asyncio.sleep((task.data or {}).get("ms", 5) / 1000)
            task, how = await orch.complete_and_claim(team, task.id, {"by": agent_id}, token=task.token), "next"
