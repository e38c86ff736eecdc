"""The tools page's pending retries, through Starlette's test client, on retries a test seeds on the session Redis:
which tool, attempt, next attempt and last error, a page at a time, earliest due first, with the totals."""

from __future__ import annotations

import asyncio
import html
import re

import pytest

pytest.importorskip("starlette", reason="the dashboard needs the [dashboard] extra")

from agentstate_redis import RetryState, ToolExecution, ToolStateManager
from agentstate_redis.dashboard.pages.common import PAGE

from .test_dashboard import HTML, dashboard, on_loop

EXTRA = PAGE + 5  # retries seeded here, beyond the fleet's one (exec-2, due in an hour)
DUE_NOW = 3


async def seed_retries(tools: ToolStateManager) -> None:
    """r-00 .. r-02 due now, the others due in order over the next minutes; r-00's tool comes from its
    execution (no tool_name given), r-01 names none and has no execution, the rest name theirs."""
    await tools.start_execution(ToolExecution(execution_id="r-00", tool_name="fetch_page"))
    await tools.fail_execution("r-00", "HTTP 503")
    await asyncio.gather(
        *(
            tools.update_retry_state(
                RetryState(
                    execution_id=f"r-{i:02d}",
                    tool_name=None if i < 2 else "search_web",
                    attempts=1 + i % 3,
                    max_attempts=4,
                    last_error=f"<i>error {i}</i>",
                ),
                delay=0 if i < DUE_NOW else 60 + i,
            )
            for i in range(EXTRA)
        )
    )


def retry_rows(page: str) -> list[list[str]]:
    """The cells of the pending-retries table, as text."""
    table = re.search(r'<table class="retries">(.*?)</table>', page, re.S)
    if table is None:
        return []
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:]  # the first is the header
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in rows
    ]


def test_pending_retries_are_paged_earliest_due_first_with_tool_attempt_due_and_error(
    redis_url: str, prefix: str
) -> None:
    with dashboard(redis_url, prefix) as (c, app, _s):
        tools = app.state.fleet.tools
        on_loop(c, seed_retries(tools))
        states = on_loop(c, tools.list_retries(limit=EXTRA + 1))
        expected = [r.execution_id for r in states]
        due_at = {r.execution_id: r.next_retry_at.strftime("%Y-%m-%d %H:%M:%S") for r in states}  # aware UTC
        assert len(expected) == EXTRA + 1 and expected[-1] == "exec-2"

        first = c.get("/tools", headers=HTML)
        assert first.status_code == 200
        assert f"{EXTRA + 1} scheduled, {DUE_NOW} due now; showing 1 to {PAGE}, earliest due first" in first.text
        rows = retry_rows(first.text)
        assert [row[0] for row in rows] == expected[:PAGE]
        by_id = {row[0]: row for row in rows}
        assert by_id["r-00"][1] == "fetch_page"  # filled from its execution by update_retry_state
        assert by_id["r-01"][1] == "—"  # no tool given, no execution to find it from
        assert by_id["r-07"][1:3] == ["search_web", "2 / 4"]
        assert re.fullmatch(re.escape(due_at["r-07"]) + r" \(in \d+ s\)", by_id["r-07"][3]), by_id["r-07"][3]
        assert re.fullmatch(re.escape(due_at["r-00"]) + r" \(\d+ s ago\)", by_id["r-00"][3]), by_id["r-00"][3]
        assert by_id["r-07"][4] == "<i>error 7</i>"  # shown as text
        assert "<i>error" not in first.text and "&lt;i&gt;error 7&lt;/i&gt;" in first.text
        assert '<a href="/tool?tool=search_web">search_web</a>' in first.text
        assert f'href="/tools?offset={PAGE}"' in first.text

        second = c.get(f"/tools?offset={PAGE}", headers=HTML).text
        assert f"showing {PAGE + 1} to {EXTRA + 1}, earliest due first" in second
        assert [row[0] for row in retry_rows(second)] == expected[PAGE:]
        last = retry_rows(second)[-1]  # the fleet's exec-2, due in an hour
        assert last[1:3] == ["search_web", "1 / 3"] and re.search(r"\(in (59|60) min\)$", last[3]), last
        assert 'href="/tools?offset=0"' in second and f"offset={2 * PAGE}" not in second

        beyond = c.get("/tools?offset=500&after=a", headers=HTML).text
        assert retry_rows(beyond) == [] and "No retries this far (offset 500)" in beyond
        assert 'href="/tools?after=a&amp;offset=450"' in beyond  # paging back keeps the tools' page

        on_loop(c, tools.get_pending_retries(claim=True))  # the three due ones leave the schedule
        after_claim = c.get("/tools", headers=HTML).text
        assert f"{EXTRA + 1 - DUE_NOW} scheduled, 0 due now" in after_claim
        assert [row[0] for row in retry_rows(after_claim)] == expected[DUE_NOW : DUE_NOW + PAGE]

        assert c.get("/tools?offset=-1").status_code == 400
        assert c.get("/tools?offset=x").status_code == 400


def test_no_retries_says_so(redis_url: str, prefix: str) -> None:
    with dashboard(redis_url, prefix) as (c, app, _s):
        on_loop(c, app.state.fleet.tools.clear_retry("exec-2"))  # the fleet's one retry
        page = c.get("/tools", headers=HTML).text
        assert "0 scheduled, 0 due now." in page and "No retries scheduled." in page and retry_rows(page) == []
