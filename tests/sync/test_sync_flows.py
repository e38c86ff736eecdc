"""The synchronous twin runs flows (its methods come from the async manager by introspection)."""

from __future__ import annotations

from agentstate_redis import sync


def test_the_sync_twin_enqueues_a_flow_and_reads_it_back(redis_url: str, prefix: str) -> None:
    orch = sync.OrchestrationStateManager(persistence="redis", redis_url=redis_url, key_prefix=prefix)
    try:
        orch.create_team("flows")
        assert orch.enqueue_flow("flows", [{"id": "b", "depends_on": ["a"]}, {"id": "a"}]) == ["b", "a"]
        assert orch.get_task("flows", "b").status == "waiting"
        task = orch.claim_task("flows", "w1")
        assert task is not None and task.id == "a"
        orch.complete_task("flows", "a", {"x": 1}, token=task.token)
        assert orch.get_dependency_results("flows", "b") == {"a": {"x": 1}}
        flow = orch.get_flow("flows", "b")
        assert flow.nodes["b"].status == "pending" and flow.nodes["a"].dependents == ["b"]
        orch.enqueue_task("flows", {"id": "c"}, depends_on=["b"], on_dependency_failure="ignore")
        assert orch.get_queue_status("flows").waiting_count == 1
    finally:
        orch.close()
