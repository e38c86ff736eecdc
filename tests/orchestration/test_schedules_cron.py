"""Cron schedules tick exactly when croniter says, in the schedule's timezone (issue 22, item 4).

Live: a per-second cron schedule run by the scheduler against a real server enqueues croniter's
ticks, consecutive, none missing or extra. Simulated: scheduler passes at scattered moments over
days that cross daylight-saving changes claim, together, exactly croniter's sequence (catchup
"all"), and the newest missed tick under "latest"; the first tick of a fresh schedule is
croniter's next fire time in its timezone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import zoneinfo

import pytest
from croniter import croniter

from agentstate_redis import OrchestrationStateManager, RedisBackend
from agentstate_redis.orchestration.schedules.ticks import TickRule, plan
from agentstate_redis.worker import run_scheduler

TEAM = "cron_team"


def croniter_ticks(expr: str, tz: str, start_ms: int, end_ms: int) -> list[int]:
    """croniter's fire times in [start_ms, end_ms], in ms."""
    it = croniter(expr, dt.datetime.fromtimestamp((start_ms - 1) / 1000, zoneinfo.ZoneInfo(tz)))
    out = []
    while True:
        t = round(it.get_next(float) * 1000)
        if t > end_ms:
            return out
        out.append(t)


@pytest.mark.parametrize(
    ("expr", "tz", "start"),
    [
        ("*/20 * * * *", "America/New_York", "2026-10-31T12:00:00+00:00"),  # fall back: 1:00-2:00 twice
        ("30 2 * * *", "Europe/Paris", "2026-03-25T00:00:00+00:00"),  # spring forward: no 2:30 on the 29th
        ("0 9 * * 1-5", "Asia/Kolkata", "2026-12-01T00:00:00+00:00"),
        ("15 */3 * * *", "Australia/Lord_Howe", "2026-04-01T00:00:00+00:00"),  # a 30-minute DST shift
    ],
)
def test_passes_at_any_moments_claim_croniters_ticks(expr: str, tz: str, start: str) -> None:
    rule = TickRule.of(every_ms=None, cron=expr, tz=tz, start_ms=None)
    t0 = int(dt.datetime.fromisoformat(start).timestamp() * 1000)
    end = t0 + 7 * 86_400_000
    rng = random.Random(expr)
    claimed: list[int] = []
    next_ms: int | None = None
    now = t0
    while now < end:
        now += rng.choice([1, 1000, 59_000, 600_000, 3_600_000, 20_000_000])
        while True:  # one scheduler pass: claims until nothing more is due
            step = plan(rule, next_ms=next_ms, from_ms=t0, now=min(now, end), catchup="all", grace_ms=1000)
            if step is None:
                break
            assert all(t <= min(now, end) for t in step.ticks)
            claimed += step.ticks
            if step.new_next == next_ms:
                break
            next_ms = step.new_next
    assert claimed == croniter_ticks(expr, tz, t0, end)
    assert len(claimed) == len(set(claimed))


def test_latest_after_a_long_outage_is_croniters_newest_missed_tick() -> None:
    expr, tz = "*/20 * * * *", "America/New_York"
    rule = TickRule.of(every_ms=None, cron=expr, tz=tz, start_ms=None)
    t0 = int(dt.datetime.fromisoformat("2026-10-31T12:00:00+00:00").timestamp() * 1000)
    ticks = croniter_ticks(expr, tz, t0, t0 + 3 * 86_400_000)
    now = ticks[150] + 5 * 60_000  # 5 min after a tick: that tick and 150 before it were missed
    step = plan(rule, next_ms=ticks[0], from_ms=t0, now=now, catchup="latest", grace_ms=1000)
    assert step is not None and step.ticks == [ticks[150]] and step.new_next == ticks[151]
    none = plan(rule, next_ms=ticks[0], from_ms=t0, now=now, catchup="none", grace_ms=1000)
    assert none is not None and none.ticks == [] and none.new_next == ticks[151]


async def test_a_cron_schedule_enqueues_croniters_ticks(redis_url: str, prefix: str) -> None:
    expr, tz = "* * * * * *", "Asia/Kolkata"  # every second (6 fields: seconds last)
    async with OrchestrationStateManager(backend=RedisBackend(redis_url, key_prefix=prefix)) as orch:
        await orch.create_team(TEAM)
        nightly = await orch.add_schedule(TEAM, "nightly", {"type": "digest"}, cron="0 3 * * *", timezone=tz)
        now_ms = int(time.time() * 1000)
        assert nightly.next_run_at is not None
        assert (
            round(nightly.next_run_at * 1000) == croniter_ticks("0 3 * * *", tz, now_ms - 1000, now_ms + 86_400_000)[0]
        )
        added = time.time()
        await orch.add_schedule(TEAM, "each_second", {"type": "tick"}, cron=expr, timezone=tz, catchup="all")
        stop = asyncio.Event()
        scheduler = asyncio.ensure_future(run_scheduler(orch, TEAM, stop=stop, install_signals=False))
        await asyncio.sleep(4.5)
        stop.set()
        stats = await scheduler
        ids = [t.id for t in await orch.list_tasks(TEAM, "pending", limit=1000) if t.id.startswith("each_second@")]
        got = sorted(int(i.rsplit("@", 1)[1]) for i in ids)
        assert len(got) >= 3 and stats.enqueued == len(got)
        assert got == croniter_ticks(expr, tz, int(added * 1000), got[-1])
        # and it slept between ticks instead of polling: a few passes per tick, not hundreds
        assert stats.passes <= 4 * len(got) + 10
