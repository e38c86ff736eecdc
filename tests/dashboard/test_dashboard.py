"""The dashboard through Starlette's test client, on a fleet each test seeds on the session Redis.

Every page renders what the managers hold; every write goes through the library and is refused
in read-only mode, without a CSRF token or from another origin; a token guards everything but
/healthz; /metrics parses and equals get_queue_status.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the dashboard needs the [dashboard] extra")

from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from agentstate_redis import OrchestrationStateManager, TaskCancelledError, ToolStateManager, WorkflowStateManager
from agentstate_redis.backends.redis import RedisBackend
from agentstate_redis.dashboard import create_app, metrics_app
from agentstate_redis.dashboard.directory import Directory
from agentstate_redis.errors import NotFoundError
from agentstate_redis.workflows import WorkflowStatus

from ..agentstate_process import start_dashboard
from ..dashboard_fleet import Seeded, seed

HTML = {"accept": "text/html"}
TOKEN = "correct-horse-battery"


def client(app: Starlette) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1:8765")


@contextlib.contextmanager
def dashboard(redis_url: str, prefix: str, **options: Any) -> Iterator[tuple[TestClient, Starlette, Seeded]]:
    """The app on its own backend (connected on the app's loop), and the fleet seeded through it."""
    app = create_app(redis_url=redis_url, key_prefix=prefix, sweep_interval=0, teams=Seeded.teams, **options)
    with client(app) as c:
        yield c, app, on_loop(c, seed(app.state.fleet.backend))


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def on_loop(c: TestClient, coro: Any) -> Any:
    """Run a coroutine on the app's event loop (where its backend lives)."""
    assert c.portal is not None
    return c.portal.call(lambda: coro)


def test_every_page_renders_the_seeded_fleet(redis_url: str, prefix: str) -> None:
    """Each GET route answers 200 with the seeded entities in it (ids escaped, never markup),
    and the test visits every GET route the app has."""
    s = Seeded()
    pages = {
        "/": ["alpha", "beta", "running"],
        "/team?team=alpha": [s.running_task, s.worker, "Pending"],
        "/team?team=alpha&queue=in_progress": [s.running_task, s.worker],
        "/team?team=alpha&queue=completed": ["task-01"],
        "/team?team=alpha&queue=retry": ["No tasks in “Waiting to retry”"],
        "/task?team=alpha&task=task-01": ["finished", "topic 1", "completed"],
        f"/task?team=alpha&task={s.dead_task}": [
            "poison-&lt;b&gt;1&lt;/b&gt;",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
        ],
        "/dead": ["alpha"],
        "/dead?team=alpha": ["poison-&lt;b&gt;1&lt;/b&gt;", "Retry all", "Purge"],
        "/agents": [s.worker, "worker-2", "online"],
        f"/agent?agent={s.worker}&team=alpha": ["Bash", "denied", s.tool, "step-2", "run-1", s.running_task],
        "/workflows": ["wf-running"],
        "/workflows?status=paused": ["wf-paused"],
        "/workflow?workflow=wf-running": ["step 2", "240 ms", "Pause", "Cancel", "auto-2"],
        "/workflow?workflow=wf-paused": ["Resume"],
        "/tools": [s.tool, "exec-2", "50.0 %"],
        f"/tool?tool={s.tool}": ["exec-0", "timeout"],
        "/events": ["Live events"],
        "/login": ["needs no token"],
        "/metrics": ["agentstate_tasks"],
        "/healthz": ['"ok":true'],
    }
    with dashboard(redis_url, prefix) as (c, app, s):
        on_loop(c, app.state.fleet.directory.sweep())  # learn the tracked agents and tools
        for path, expected in pages.items():
            r = c.get(path, headers=HTML)
            assert r.status_code == 200, (path, r.text[:300])
            for text in expected:
                assert text in r.text, (path, text)
            assert "<script>alert" not in r.text and "<b>1</b>" not in r.text, path
        r = c.get("/static/dashboard.js")
        assert r.status_code == 200 and "EventSource" in r.text
    visited = {p.split("?")[0] for p in pages} | {"/static", "/events/stream"}
    get_routes = {r.path for r in app.routes if isinstance(r, Route) and "GET" in (r.methods or ())}
    assert get_routes - visited == set(), "a GET route this test does not visit"


def test_bad_parameters_and_missing_entities_are_400_and_404(redis_url: str, prefix: str) -> None:
    with dashboard(redis_url, prefix) as (c, _app, _s):
        assert c.get("/team?team=nope", headers=HTML).status_code == 404
        assert c.get("/team?team=alpha&offset=x").status_code == 400
        assert c.get("/team?team=alpha&offset=-1").status_code == 400
        assert c.get("/team?team=alpha&queue=bogus").status_code == 400
        assert c.get("/team").status_code == 400
        assert c.get("/task?team=alpha&task=missing").status_code == 404
        assert c.get("/workflow?workflow=missing").status_code == 404
        assert c.get("/workflows?status=bogus").status_code == 400


async def test_retry_and_purge_dead_letters_through_the_forms(redis_url: str, prefix: str) -> None:
    """Retry puts the dead letter back in pending; purge deletes; retry all empties the set."""
    with dashboard(redis_url, prefix) as (c, app, s):
        orch = OrchestrationStateManager(backend=app.state.fleet.backend)
        token = csrf_of(c.get("/dead?team=alpha").text)
        r = c.post("/dead/retry", data={"team": "alpha", "task": s.dead_task, "csrf": token}, follow_redirects=False)
        assert r.status_code == 303 and "1+dead+letter+retried" in r.headers["location"]
        assert "1 dead letter retried" in c.get(r.headers["location"]).text
        task = on_loop(c, orch.get_task("alpha", s.dead_task))
        assert task.status == "pending"
        # kill it again, then purge it
        held = on_loop(c, orch.assign_task("alpha", s.dead_task, "worker-2"))
        on_loop(c, orch.fail_task("alpha", s.dead_task, "again", token=held.token))
        r = c.post("/dead/purge", data={"team": "alpha", "task": s.dead_task, "csrf": token}, follow_redirects=False)
        assert r.status_code == 303
        with pytest.raises(NotFoundError):
            on_loop(c, orch.get_task("alpha", s.dead_task))
        # retry all: two dead letters back in pending
        for task_id in ("task-05", "task-06"):
            held = on_loop(c, orch.assign_task("alpha", task_id, "worker-2"))
            on_loop(c, orch.fail_task("alpha", task_id, "boom", token=held.token, retry=False))
        assert on_loop(c, orch.get_queue_status("alpha")).dead_count == 2
        r = c.post("/dead/retry", data={"team": "alpha", "all": "1", "csrf": token})
        assert "2 dead letters retried" in r.text
        assert on_loop(c, orch.get_queue_status("alpha")).dead_count == 0
        r = c.post("/dead/retry", data={"team": "alpha", "csrf": token})
        assert "choose dead letters first" in r.text


async def test_pause_resume_cancel_a_workflow_and_a_refused_transition(redis_url: str, prefix: str) -> None:
    with dashboard(redis_url, prefix) as (c, app, _s):
        wf = WorkflowStateManager(backend=app.state.fleet.backend)
        token = csrf_of(c.get("/workflow?workflow=wf-running").text)

        def act(workflow_id: str, action: str, **extra: str) -> str:
            return c.post(
                "/workflow/action", data={"workflow": workflow_id, "action": action, "csrf": token, **extra}
            ).text

        assert "now paused" in act("wf-running", "pause")
        assert on_loop(c, wf.get_status("wf-running")) == WorkflowStatus.PAUSED
        assert "now running" in act("wf-running", "resume")
        assert "now cancelled" in act("wf-running", "cancel", reason="from the test")
        state = on_loop(c, wf.get("wf-running"))
        assert state.status == WorkflowStatus.CANCELLED and state.cancel_reason == "from the test"
        refused = act("wf-running", "resume")
        assert "cannot resume" in refused and 'class="flash err"' in refused
        assert on_loop(c, wf.get_status("wf-running")) == WorkflowStatus.CANCELLED
        assert (
            c.post("/workflow/action", data={"workflow": "wf-paused", "action": "drop", "csrf": token}).status_code
            == 400
        )


async def test_pause_and_resume_a_team_and_cancel_a_task_through_the_forms(redis_url: str, prefix: str) -> None:
    """The team page pauses and resumes through pause_team/resume_team; the task page cancels a
    running task through cancel_task (its holder's heartbeat then raises); a finished task has no
    Cancel and a refused cancel is a flash error."""
    with dashboard(redis_url, prefix) as (c, app, s):
        orch = OrchestrationStateManager(backend=app.state.fleet.backend)
        page = c.get("/team?team=alpha").text
        assert 'id="team-pause"' in page and "Delayed" in page and "Cancelled" in page
        token = csrf_of(page)
        r = c.post("/team/action", data={"team": "alpha", "action": "pause", "csrf": token})
        assert "team paused" in r.text and 'id="team-paused"' in r.text and 'id="team-resume"' in r.text
        assert on_loop(c, orch.get_queue_status("alpha")).paused
        assert on_loop(c, orch.claim_task("alpha", "worker-2")) is None
        assert "team running" in c.post("/team/action", data={"team": "alpha", "action": "resume", "csrf": token}).text
        assert not on_loop(c, orch.get_queue_status("alpha")).paused
        assert c.post("/team/action", data={"team": "alpha", "action": "drop", "csrf": token}).status_code == 400

        page = c.get(f"/task?team=alpha&task={s.running_task}").text
        assert 'id="task-cancel"' in page
        r = c.post("/task/cancel", data={"team": "alpha", "task": s.running_task, "reason": "ops", "csrf": token})
        assert "task cancelled" in r.text and 'id="task-cancel"' not in r.text and "ops" in r.text
        task = on_loop(c, orch.get_task("alpha", s.running_task))
        assert task.status == "cancelled" and task.cancel_reason == "ops"
        with pytest.raises(TaskCancelledError):
            on_loop(c, orch.heartbeat("alpha", task.agent_id))
        assert 'Cancelled <span class="count">1</span>' in c.get("/team?team=alpha&queue=cancelled").text
        refused = c.post("/task/cancel", data={"team": "alpha", "task": s.running_task, "csrf": token}).text
        assert 'class="flash err"' in refused and "cannot cancel" in refused
        assert 'id="task-cancel"' not in c.get("/task?team=alpha&task=task-01").text  # completed: no Cancel


def write_routes(app: Starlette) -> list[str]:
    paths = [r.path for r in app.routes if isinstance(r, Route) and getattr(r.endpoint, "is_write", False)]
    assert len(paths) == 5, paths  # dead retry, dead purge, workflow action, team pause/resume, task cancel
    return paths


async def test_read_only_shows_no_action_and_refuses_every_write(redis_url: str, prefix: str) -> None:
    """Read-only: no form posts anywhere but logout, and every write route answers 403 even with a
    valid CSRF token; nothing changes."""
    with dashboard(redis_url, prefix, read_only=True) as (c, app, s):
        backend = app.state.fleet.backend
        orch = OrchestrationStateManager(backend=backend)
        for path in (
            "/dead?team=alpha",
            "/workflow?workflow=wf-running",
            "/workflow?workflow=wf-paused",
            "/team?team=alpha",
            f"/task?team=alpha&task={s.running_task}",
        ):
            page = c.get(path).text
            assert 'method="post"' not in page and "Retry" not in page and "read-only" in page, path
        token = c.cookies.get("agentstate_csrf")
        assert token
        for path in write_routes(app):
            r = c.post(
                path,
                data={
                    "team": "alpha",
                    "task": s.dead_task,
                    "all": "1",
                    "workflow": "wf-running",
                    "action": "cancel",
                    "csrf": token,
                },
            )
            assert r.status_code == 403, path
        assert on_loop(c, orch.get_task("alpha", s.dead_task)).status == "dead"
        assert on_loop(c, WorkflowStateManager(backend=backend).get_status("wf-running")) == WorkflowStatus.RUNNING
        assert not on_loop(c, orch.get_queue_status("alpha")).paused


async def test_writes_need_the_csrf_token_and_the_same_origin(redis_url: str, prefix: str) -> None:
    """A cross-site form post (no token, a wrong one, another Origin, Sec-Fetch-Site cross-site)
    is refused with 403 on every write route and changes nothing."""
    with dashboard(redis_url, prefix) as (c, app, s):
        orch = OrchestrationStateManager(backend=app.state.fleet.backend)
        token = csrf_of(c.get("/dead?team=alpha").text)
        data = {"team": "alpha", "task": s.dead_task, "workflow": "wf-running", "action": "cancel"}
        for path in write_routes(app):
            assert c.post(path, data=data).status_code == 403, path
            assert c.post(path, data={**data, "csrf": "x" * 43}).status_code == 403, path
            assert (
                c.post(path, data={**data, "csrf": token}, headers={"origin": "https://evil.example"}).status_code
                == 403
            )
            assert c.post(path, data={**data, "csrf": token}, headers={"origin": "null"}).status_code == 403
            assert (
                c.post(path, data={**data, "csrf": token}, headers={"sec-fetch-site": "cross-site"}).status_code == 403
            )
        assert on_loop(c, orch.get_task("alpha", s.dead_task)).status == "dead"
        # the same origin with the token passes (the header form works too)
        r = c.post(
            "/dead/retry",
            data={"team": "alpha", "task": s.dead_task},
            headers={"origin": "http://127.0.0.1:8765", "x-csrf-token": token, "sec-fetch-site": "same-origin"},
        )
        assert r.status_code == 200 and "retried" in r.text
        page = c.get("/").headers
        assert page["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in page["content-security-policy"]


async def test_a_token_guards_every_page_and_write_but_healthz(redis_url: str, prefix: str) -> None:
    with dashboard(redis_url, prefix, token=TOKEN) as (c, _app, s):
        assert c.get("/healthz").status_code == 200
        for path in ("/", "/team?team=alpha", "/metrics", "/events/stream", "/static/../metrics"):
            r = c.get(path, follow_redirects=False)
            assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer"), path
        r = c.get("/team?team=alpha", headers=HTML, follow_redirects=False)
        assert r.status_code == 303 and "/login?next=%2Fteam" in r.headers["location"]
        assert c.post("/dead/retry", data={"team": "alpha", "all": "1"}).status_code == 401
        assert c.get("/metrics", headers={"authorization": "Bearer wrong-token-here"}).status_code == 401
        assert c.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
        # a Bearer request carries no ambient credential: it needs no CSRF token
        r = c.post(
            "/dead/retry", data={"team": "alpha", "task": s.dead_task}, headers={"authorization": f"Bearer {TOKEN}"}
        )
        assert r.status_code == 200 and "1 dead letter retried" in r.text
        # the login form: a wrong token is refused, the right one sets a cookie that is not the token
        assert c.post("/login", data={"token": "nope-nope-nope"}).status_code == 401
        r = c.post("/login", data={"token": TOKEN, "next": "https://evil.example/"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"
        session = c.cookies.get("agentstate_session")
        assert session and TOKEN not in session and "httponly" in r.headers["set-cookie"].lower()
        assert "samesite=strict" in r.headers["set-cookie"].lower()
        assert c.get("/team?team=alpha").status_code == 200
        r = c.post("/logout", follow_redirects=False)
        assert r.status_code == 303
        c.cookies.clear()
        assert c.get("/", follow_redirects=False).status_code == 401


def test_allowed_hosts_refuse_other_host_headers(redis_url: str, prefix: str) -> None:
    """Against DNS rebinding: with allowed_hosts (the command's default on loopback without a token),
    a request naming another host is refused."""
    with dashboard(redis_url, prefix, allowed_hosts=["localhost", "127.0.0.1"]) as (c, _app, _s):
        assert c.get("/healthz").status_code == 200
        assert c.get("/", headers={"host": "attacker.example:8765"}).status_code == 400


async def test_metrics_parse_and_equal_the_queue_status(redis_url: str, prefix: str) -> None:
    """/metrics is valid Prometheus text; its task gauges equal get_queue_status, its counters the
    team's server-side totals and the tools' stats, its workflow gauges count_workflows; the same
    numbers from metrics_app alone."""
    with dashboard(redis_url, prefix, tools=[Seeded.tool]) as (c, app, s):
        backend = app.state.fleet.backend
        orch, tools, wf = (
            OrchestrationStateManager(backend=backend),
            ToolStateManager(backend=backend),
            WorkflowStateManager(backend=backend),
        )
        text = c.get("/metrics").text
        samples = {
            (sm.name, tuple(sorted(sm.labels.items()))): sm.value
            for m in text_string_to_metric_families(text)
            for sm in m.samples
        }
        for team in s.teams:
            q = on_loop(c, orch.get_queue_status(team))
            expected = {
                "pending": q.pending_count,
                "in_progress": q.in_progress_count,
                "retry": q.scheduled_count,
                "completed": q.completed_count,
                "dead": q.dead_count,
            }
            for status, value in expected.items():
                assert samples[("agentstate_tasks", (("status", status), ("team", team)))] == value, (team, status)
            counters = on_loop(c, orch.get_team_counters(team))
            assert samples[("agentstate_tasks_completed_total", (("team", team),))] == counters.completed_total
            assert samples[("agentstate_tasks_dead_total", (("team", team),))] == counters.dead_total
        assert samples[("agentstate_tasks", (("status", "pending"), ("team", "alpha")))] == 6
        assert samples[("agentstate_team_agents", (("state", "online"), ("team", "alpha")))] == 2
        stats = on_loop(c, tools.get_tool_stats(s.tool))
        assert samples[("agentstate_tool_executions_total", (("outcome", "success"), ("tool", s.tool)))] == 2
        assert samples[("agentstate_tool_executions_total", (("outcome", "failure"), ("tool", s.tool)))] == 1
        assert samples[("agentstate_tool_cache_hits_total", (("tool", s.tool),))] == stats.cache_hits == 1
        assert samples[("agentstate_tool_cache_misses_total", (("tool", s.tool),))] == stats.cache_misses
        for status in WorkflowStatus:
            assert samples[("agentstate_workflows", (("status", status.value),))] == on_loop(
                c, wf.count_workflows(status)
            )
        assert ("agentstate_event_hub_reconnects_total", ()) in samples
    with client(metrics_app(redis_url=redis_url, key_prefix=prefix, teams=s.teams, sweep_interval=0)) as c:
        alone = {
            (sm.name, tuple(sorted(sm.labels.items()))): sm.value
            for m in text_string_to_metric_families(c.get("/metrics").text)
            for sm in m.samples
        }
        assert alone[("agentstate_tasks", (("status", "pending"), ("team", "alpha")))] == 6
        assert c.get("/healthz").json()["ok"] is True
        assert c.get("/").status_code == 404


async def test_metrics_count_the_claims_failures_stalls_and_wake_ups_the_fleet_made(
    redis_url: str, prefix: str
) -> None:
    """The seed made on alpha 3 claims (2 claim_task, 1 assign_task), 1 failure, no stall; this test
    makes on beta a claim whose lease lapses (a stall, collected by reap), its claim again, a failure
    and an assign: /metrics shows exactly those, and the wake-up histogram counted the claim_task
    claims only, its buckets cumulative, its _count and _sum those of get_team_counters."""
    with dashboard(redis_url, prefix) as (c, app, _s):
        orch = OrchestrationStateManager(backend=app.state.fleet.backend)
        first = on_loop(c, orch.claim_task("beta", "w", lease=0.05))
        assert first is not None
        on_loop(c, asyncio.sleep(0.15))
        assert on_loop(c, orch.reap("beta"))["stalled"] == 1
        again = on_loop(c, orch.claim_task("beta", "w"))
        assert again is not None and again.id == first.id
        on_loop(c, orch.fail_task("beta", again.id, "boom", token=again.token))
        on_loop(c, orch.assign_task("beta", "b-2", "w"))
        families = {m.name: m for m in text_string_to_metric_families(c.get("/metrics").text)}
        samples = {(sm.name, tuple(sorted(sm.labels.items()))): sm.value for m in families.values() for sm in m.samples}
        expected = {"alpha": (3, 1, 0, 2), "beta": (3, 1, 1, 2)}  # claims, failures, stalls, observed wake-ups
        for team, (claims, failures, stalls, woken) in expected.items():
            label = (("team", team),)
            assert samples[("agentstate_task_claims_total", label)] == claims, team
            assert samples[("agentstate_task_failures_total", label)] == failures, team
            assert samples[("agentstate_task_stalls_total", label)] == stalls, team
            assert samples[("agentstate_queue_wakeup_seconds_count", label)] == woken, team
            counters = on_loop(c, orch.get_team_counters(team))
            assert samples[("agentstate_queue_wakeup_seconds_sum", label)] == pytest.approx(counters.wakeup.sum_seconds)
            buckets = sorted(
                (float(sm.labels["le"]), sm.value)
                for sm in families["agentstate_queue_wakeup_seconds"].samples
                if sm.name.endswith("_bucket") and sm.labels["team"] == team
            )
            assert buckets[-1] == (float("inf"), woken)
            assert [n for _, n in buckets] == sorted(n for _, n in buckets)  # cumulative
            assert buckets[:-1] == [(b, float(n)) for b, n in counters.wakeup.buckets]
        assert families["agentstate_task_claims"].type == "counter"
        assert families["agentstate_queue_wakeup_seconds"].type == "histogram"
        assert "became pending again" in families["agentstate_queue_wakeup_seconds"].documentation


async def test_the_team_page_shows_waiting_tasks_its_limits_and_whether_it_is_paused(
    redis_url: str, prefix: str
) -> None:
    """Waiting tasks (dependencies unfinished) have their tab, count and pages; the claim limits and
    their use, the totals, and running or paused are on the team page."""
    with dashboard(redis_url, prefix) as (c, app, _s):
        orch = OrchestrationStateManager(backend=app.state.fleet.backend)
        page = c.get("/team?team=beta").text
        assert 'id="team-running"' in page and "No claim limits" in page
        assert 'Waiting for dependencies <span class="count">0</span>' in page

        async def waiting() -> None:
            for i in range(55):
                await orch.enqueue_task("beta", {"id": f"after-{i:02d}", "depends_on": ["b-0"]})

        on_loop(c, waiting())
        on_loop(c, orch.set_team_limits("beta", max_in_progress=3))
        on_loop(c, orch.set_team_limits("beta", max_per_second=7, capability="gpu"))
        held = on_loop(c, orch.claim_task("beta", "w"))
        assert held is not None
        on_loop(c, orch.pause_team("beta"))
        page = c.get("/team?team=beta&queue=waiting").text
        assert 'Waiting for dependencies <span class="count">55</span>' in page
        assert 'id="team-paused"' in page and 'id="team-running"' not in page
        limits = page[page.index('id="team-limits"') : page.index("</table>", page.index('id="team-limits"'))]
        assert "whole team" in limits and "capability gpu" in limits and ">3<" in limits and ">7<" in limits
        assert '<td class="num">1</td>' in limits  # beta's one task in progress
        assert "claims 1," in page and "mean wait to be claimed" in page
        assert page.count(">after-") == 50 and "next 50" in page  # the first page of the waiting queue
        assert ">after-50<" not in page and ">after-50<" in c.get("/team?team=beta&queue=waiting&offset=50").text
        assert 'id="task-cancel"' in c.get("/task?team=beta&task=after-00").text  # waiting: cancellable


def test_mounted_under_a_base_path_with_one_connection_closed_on_shutdown(redis_url: str, prefix: str) -> None:
    """Mounted at /ops of another app (its lifespan passed on): links carry /ops, and the dashboard's
    own backend is connected once and closed when the host app shuts down."""
    app = create_app(redis_url=redis_url, key_prefix=prefix, sweep_interval=0)
    host = Starlette(routes=[Mount("/ops", app=app)], lifespan=app.router.lifespan_context)
    backend = app.state.fleet.backend
    with TestClient(host) as c:
        page = c.get("/ops/")
        assert page.status_code == 200
        assert 'href="/ops/workflows"' in page.text and "/ops/static/dashboard.css" in page.text
        assert c.get("/ops/healthz").json()["ok"] is True
        assert all(m.backend is backend for m in (app.state.fleet.orch, app.state.fleet.tools))
        assert not backend._closed
    assert backend._closed and backend._client is None


async def test_the_directory_learns_teams_from_events_and_sweeps(redis_backend: RedisBackend) -> None:
    """A team created before the dashboard is found by one sweep; one created after, from its event
    alone (no sweep); pages come in id order after a cursor."""
    orch = OrchestrationStateManager(backend=redis_backend)
    await orch.create_team("before-1")
    await orch.create_team("before-{weird}%")
    from agentstate_redis.dashboard.feed import Feed

    directory = Directory(redis_backend, sweep_interval=0)
    feed = Feed(redis_backend, on_event=directory.on_event)
    await feed.start()
    try:
        assert directory.page("team") == []
        await directory.sweep()
        assert directory.page("team") == ["before-1", "before-{weird}%"]
        await orch.create_team("after-1")
        for _ in range(100):
            if ("team", "after-1") in directory:
                break
            await asyncio.sleep(0.05)
        assert directory.page("team") == ["after-1", "before-1", "before-{weird}%"]
        assert directory.page("team", after="after-1", limit=1) == ["before-1"]
        assert feed.events_total["team"] >= 1
    finally:
        await feed.close()


@pytest.fixture
def free_port() -> Iterator[int]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def agentstate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentstate_redis.cli", "dashboard", *args], capture_output=True, text=True, timeout=60
    )


def test_the_command_refuses_an_open_address_without_a_token_in_one_line(redis_url: str) -> None:
    for args in (["--host", "0.0.0.0"], ["--host", "192.0.2.1"], ["--host", "::"], ["--token", "short"]):
        done = agentstate("--redis-url", redis_url, *args)
        assert done.returncode == 1 and done.stdout == "", args
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("agentstate dashboard: "), done.stderr
    assert "--auth-in-front" in agentstate("--host", "0.0.0.0").stderr


def test_the_command_reports_a_port_in_use_in_one_line(redis_url: str) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        done = agentstate("--redis-url", redis_url, "--port", str(taken.getsockname()[1]))
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "cannot listen on 127.0.0.1" in done.stderr


@pytest.mark.parametrize("sig, code, said", [(signal.SIGTERM, 0, "stopped"), (signal.SIGINT, 130, "interrupted")])
def test_the_command_serves_and_stops_on_a_signal_with_a_stream_open(
    redis_url: str, prefix: str, sig: int, code: int, said: str
) -> None:
    """SIGTERM stops it with exit 0, Ctrl-C with 130, also while a browser holds the event stream open."""
    import httpx

    proc = start_dashboard(redis_url, prefix)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("agentstate dashboard: http://127.0.0.1:") and prefix in line, line
        url = line.split()[2]
        assert httpx.get(url + "healthz", timeout=30).json()["ok"] is True
        with httpx.stream("GET", url + "events/stream", timeout=30) as stream:
            assert next(stream.iter_lines()) == "retry: 2000"
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code and err.strip() == f"agentstate dashboard: {said}"
