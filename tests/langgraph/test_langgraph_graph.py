"""A real StateGraph on our savers, across processes.

Proves: a graph stopped by ``interrupt()`` in one process (sync CheckpointSaver) is resumed with
``Command(resume=...)`` in another (AsyncCheckpointSaver) from what the first one stored; time
travel works (get_state_history, update_state on an earlier checkpoint, invoke from there).
"""

from __future__ import annotations

import uuid

from ..procs import run_processes
from ..workers_langgraph import resume_run, start_run


def test_interrupt_in_one_process_resume_and_time_travel_in_another(redis_url: str, prefix: str) -> None:
    thread_id = f"post-{uuid.uuid4().hex[:8]}"
    [started] = run_processes(start_run, [(redis_url, prefix, thread_id)])
    assert started["interrupt"] == {"draft": "a post about redis"}
    assert started["next"] == ["review"]

    [resumed] = run_processes(resume_run, [(redis_url, prefix, thread_id)])
    assert resumed["pid"] != started["pid"]
    done = resumed["done"]
    assert done["approved"] is True
    assert done["log"] == [f"write:{started['pid']}", "review:yes", "publish"]
    assert resumed["history"] >= 4  # input, write, review (interrupted), publish, end
    assert resumed["asked_again"] == {"draft": "an edited post"}  # the fork re-ran review on the edit
    final = resumed["final"]
    assert final["approved"] is False and final["draft"] == "an edited post"
    assert final["log"] == [f"write:{started['pid']}", "review:no", "shelve"]  # the fork's own branch
    assert resumed["latest_parent"]
