"""The task queue on a three-primary Redis Cluster vs one server (issue 24: no cluster penalty).

    python -m bench --only cluster

Starts its own server and its own cluster of three primaries (same binary, same
settings, cluster nodes on loopback) and runs, on each, three teams whose hash tags
fall on the three primaries:

- enqueue: ``tasks`` coroutines (spread over the teams) each calling ``enqueue_task``
  in a loop, tasks / s;
- drain: the same coroutines each claiming and then ``complete_and_claim``-ing from a
  backlog filled beforehand (larger than a repeat can drain), tasks / s.

Within each repeat, server and cluster are both connected and measured in slices run
A B B A (half the duration each; which goes first alternates between repeats), so load
from other jobs hits both. The ratios cluster / server are taken per repeat; the
report gives their median and their worst repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any

import redis
from redis.crc import key_slot

from .common import Comparison, Section, concurrent_loop, loadavg, median, run_id

SLOTS = 16384
PRIMARIES = 3
TASKS = 48
FILL_PER_TEAM = 12_000


def _bus_free_port() -> int:
    from agentstate_redis.embedded import free_port

    while True:
        port = free_port()
        if port > 55000:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 10000))  # the cluster bus port
            except OSError:
                continue
        return port


@contextlib.contextmanager
def cluster(primaries: int = PRIMARIES) -> Iterator[str]:
    """A cluster of ``primaries`` primaries (slots in equal ranges, in node order); yields its url."""
    from agentstate_redis.embedded import EmbeddedRedis

    args = ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000", "--cluster-config-file", "nodes.conf"]
    nodes: list[EmbeddedRedis] = []
    try:
        for _ in range(primaries):
            nodes.append(EmbeddedRedis(_bus_free_port(), extra_args=args).start())
        clients = [redis.Redis(port=n.port, decode_responses=True) for n in nodes]
        per = SLOTS // primaries
        for i, client in enumerate(clients):
            last = SLOTS - 1 if i == primaries - 1 else (i + 1) * per - 1
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", i * per, last)
        for node in nodes[1:]:
            clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", node.port)
        deadline = time.monotonic() + 30
        while not all(c.cluster("info")["cluster_state"] == "ok" for c in clients):
            if time.monotonic() > deadline:
                raise TimeoutError("the bench cluster did not become ready")
            time.sleep(0.1)
        yield f"redis+cluster://127.0.0.1:{nodes[0].port}"
    finally:
        for node in nodes:
            node.cleanup()


def teams_on_each_primary(primaries: int = PRIMARIES) -> list[str]:
    """One team id per primary: ``{team:<id>}`` hashes into that primary's slot range."""
    per = SLOTS // primaries
    found: dict[int, str] = {}
    i = 0
    while len(found) < primaries:
        team = f"team{i}"
        found.setdefault(min(key_slot(f"team:{team}".encode()) // per, primaries - 1), team)
        i += 1
    return [found[p] for p in range(primaries)]


async def _enqueue(orch: Any, teams: list[str], duration: float, tasks: int) -> tuple[int, float]:
    """Tasks enqueued in ``duration`` s by ``tasks`` coroutines, and the seconds it took."""

    def make(i: int) -> Any:
        team = teams[i % len(teams)]

        async def step() -> None:
            await orch.enqueue_task(team, {"type": "noop"})

        return step

    return await concurrent_loop(duration, tasks, make)


async def _fill(orch: Any, teams: list[str], fill: int) -> None:
    for team in teams:
        for start in range(0, fill, 500):
            await orch.enqueue_tasks(team, [{"type": "noop"}] * min(500, fill - start))


async def _drain(orch: Any, teams: list[str], duration: float, tasks: int, dry: list[bool]) -> tuple[int, float]:
    """Tasks completed in ``duration`` s by ``tasks`` workers (claim, then complete_and_claim), and the seconds;
    appends True to ``dry`` when a worker found the backlog empty (the figure then means less)."""

    async def worker(i: int) -> int:
        team, agent = teams[i % len(teams)], f"w{i}"
        end = time.perf_counter() + duration
        done = 0
        task = await orch.claim_task(team, agent, lease=30)
        while task is not None and time.perf_counter() < end:
            task = await orch.complete_and_claim(team, task.id, None, agent_id=agent, token=task.token, lease=30)
            done += 1
        if task is None:
            dry.append(True)
        return done

    start = time.perf_counter()
    counts = await asyncio.gather(*(worker(i) for i in range(tasks)))
    return sum(counts), time.perf_counter() - start


async def _abba(measure: Any, sides: list[str], duration: float, first: str) -> dict[str, float]:
    """Rate per side over slices run A B B A (``duration`` s per side in all), so drift in the machine's
    load hits both sides alike."""
    a, b = first, next(name for name in sides if name != first)
    done = {name: 0 for name in sides}
    took = {name: 0.0 for name in sides}
    for name in (a, b, b, a):
        n, elapsed = await measure(name, duration / 2)
        done[name] += n
        took[name] += elapsed
    return {name: done[name] / took[name] for name in sides}


async def _repeat(
    urls: dict[str, str], duration: float, tasks: int, fill: int, first: str, sec: Section, dry: list[str]
) -> None:
    from agentstate_redis import RedisBackend
    from agentstate_redis.orchestration import OrchestrationStateManager

    teams = teams_on_each_primary()
    backends = {name: RedisBackend(url, key_prefix=f"bq{run_id()}:") for name, url in urls.items()}
    orchs = {name: OrchestrationStateManager(backend=b) for name, b in backends.items()}
    try:
        for orch in orchs.values():
            for team in teams:
                await orch.create_team(team, exist_ok=True)
            await _enqueue(orch, teams, 0.3, tasks)  # warm-up: connections, script cache
        enqueue = await _abba(lambda name, d: _enqueue(orchs[name], teams, d, tasks), list(orchs), duration, first)
        for orch in orchs.values():
            await _fill(orch, teams, fill)
        ran_dry: dict[str, list[bool]] = {name: [] for name in orchs}
        drain = await _abba(
            lambda name, d: _drain(orchs[name], teams, d, tasks, ran_dry[name]), list(orchs), duration, first
        )
        dry.extend(name for name, flags in ran_dry.items() if flags)
        for name in orchs:
            sec.add(f"{name}: enqueue", enqueue[name], "tasks/s", "higher")
            sec.add(f"{name}: drain (claim + complete)", drain[name], "tasks/s", "higher")
        for figure, rates in (("enqueue", enqueue), ("drain", drain)):
            sec.add(f"ratio cluster / server: {figure}", rates["cluster"] / rates["server"], "x", "higher")
    finally:
        for b in backends.values():
            await b.close()


async def run(
    url: str | None = None,
    duration: float = 2.0,
    repeats: int = 3,
    tasks: int = TASKS,
    fill_per_team: int = FILL_PER_TEAM,
) -> Section:
    """``url`` is ignored: the scenario starts its own server and cluster (same binary, same settings)."""
    from agentstate_redis.embedded import EmbeddedRedis

    t0 = time.perf_counter()
    sec = Section("Task queue on a three-primary cluster vs one server (issue 24)")
    dry: list[str] = []
    with EmbeddedRedis() as single, cluster() as cluster_url:
        for r in range(repeats):
            await _repeat(
                {"server": single.url, "cluster": cluster_url},
                duration,
                tasks,
                fill_per_team,
                "server" if r % 2 == 0 else "cluster",
                sec,
                dry,
            )
    for figure in ("enqueue", "drain"):
        ratios = sec.figures[f"ratio cluster / server: {figure}"].samples
        sec.notes.append(
            f"{figure}: cluster / server per repeat {', '.join(f'{x:.2f}' for x in ratios)}; "
            f"median {median(ratios):.2f}x, worst {min(ratios):.2f}x (target >= 0.9 for both)"
        )
    sec.comparisons += [
        Comparison("cluster / server: enqueue (medians)", "cluster: enqueue", "server: enqueue", ">= 0.9"),
        Comparison(
            "cluster / server: drain (medians)",
            "cluster: drain (claim + complete)",
            "server: drain (claim + complete)",
            ">= 0.9",
        ),
    ]
    sec.notes.append(
        f"{tasks} coroutines in one process over 3 teams, one team per primary; backlog "
        f"{fill_per_team} tasks per team filled before each drain; load average after: {loadavg()}"
    )
    if dry:
        sec.notes.append(f"the backlog ran dry during a drain on: {', '.join(dry)} (that drain figure is low)")
    sec.seconds = time.perf_counter() - t0
    return sec


if __name__ == "__main__":
    result = asyncio.run(run())
    for note in result.notes:
        print(note)
