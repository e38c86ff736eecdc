"""Worker functions for the LangGraph multi-process tests (each builds its own saver).

The graph: START -> write -> review (interrupt() asks a human) -> publish -> END. ``start_run``
runs it with the sync saver until the interrupt; ``resume_run`` (another process) resumes it
with ``Command(resume=...)`` on the async saver, then travels back in time.
"""

from __future__ import annotations

import asyncio
import operator
import os
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from agentstate_redis import LeaseError
from agentstate_redis.langgraph import AsyncCheckpointSaver, CheckpointSaver


class Post(TypedDict, total=False):
    topic: str
    draft: str
    approved: bool
    log: Annotated[list[str], operator.add]


def _write(state: Post) -> Post:
    return {"draft": f"a post about {state['topic']}", "log": [f"write:{os.getpid()}"]}


def _review(state: Post) -> Post:
    answer = interrupt({"draft": state["draft"]})
    return {"approved": answer == "yes", "log": [f"review:{answer}"]}


def _publish(state: Post) -> Post:
    return {"log": ["publish" if state["approved"] else "shelve"]}


def builder() -> StateGraph:
    graph = StateGraph(Post)
    graph.add_node("write", _write)
    graph.add_node("review", _review)
    graph.add_node("publish", _publish)
    graph.add_edge(START, "write")
    graph.add_edge("write", "review")
    graph.add_edge("review", "publish")
    graph.add_edge("publish", END)
    return graph


def start_run(redis_url: str, prefix: str, thread_id: str) -> dict[str, Any]:
    """Run until the review interrupt (sync saver); return what the interrupt asked and the pid."""
    with CheckpointSaver.from_conn_string(redis_url, key_prefix=prefix) as saver:
        graph = builder().compile(checkpointer=saver)
        out = graph.invoke({"topic": "redis", "log": []}, {"configurable": {"thread_id": thread_id}})
        return {
            "interrupt": out["__interrupt__"][0].value,
            "pid": os.getpid(),
            "next": list(graph.get_state({"configurable": {"thread_id": thread_id}}).next),
        }


def resume_run(redis_url: str, prefix: str, thread_id: str) -> dict[str, Any]:
    """Resume with 'yes' (async saver), then fork from before the review with an edited draft,
    stop at its interrupt again and answer 'no' there."""

    async def main() -> dict[str, Any]:
        config = {"configurable": {"thread_id": thread_id}}
        async with AsyncCheckpointSaver.from_conn_string(redis_url, key_prefix=prefix) as saver:
            graph = builder().compile(checkpointer=saver)
            done = await graph.ainvoke(Command(resume="yes"), config)
            history = [s async for s in graph.aget_state_history(config)]
            before_review = next(s for s in history if s.next == ("review",))
            forked = await graph.aupdate_state(before_review.config, {"draft": "an edited post"})
            again = await graph.ainvoke(None, forked)
            final = await graph.ainvoke(Command(resume="no"), config)
            return {
                "done": dict(done),
                "pid": os.getpid(),
                "history": len(history),
                "asked_again": again["__interrupt__"][0].value,
                "final": dict(final),
                "latest_parent": (await saver.aget_tuple(config)).parent_config is not None,
            }

    return asyncio.run(main())


def write_checkpoints(redis_url: str, prefix: str, thread_id: str, worker: int, n: int, lease: float | None) -> Any:
    """Put ``n`` checkpoints, each with pending writes, on one thread shared with other workers.

    Returns the ids put, or with ``lease`` the number put before LeaseError stopped the worker."""

    async def main() -> Any:
        from langgraph.checkpoint.base import empty_checkpoint

        async with AsyncCheckpointSaver.from_conn_string(
            redis_url, key_prefix=prefix, lease=lease, owner=f"w{worker}"
        ) as saver:
            ids, parent = [], None
            for i in range(n):
                cp = empty_checkpoint()
                version = saver.get_next_version(None, None)
                cp["channel_versions"] = {"shared": version, f"own{worker}": version}
                cp["channel_values"] = {"shared": f"w{worker}-{i}", f"own{worker}": list(range(i))}
                config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
                if parent:
                    config["configurable"]["checkpoint_id"] = parent
                try:
                    stored = await saver.aput(
                        config, cp, {"source": "loop", "step": i, "worker": worker}, dict(cp["channel_versions"])
                    )
                    await saver.aput_writes(stored, [("shared", i), ("__error__", f"e{i}")], f"task-{worker}-{i}")
                except LeaseError as exc:
                    return {"put": len(ids), "reason": str(exc)}
                parent = stored["configurable"]["checkpoint_id"]
                ids.append(parent)
                await asyncio.sleep(0)
            return {"put": len(ids), "ids": ids} if lease else ids

    return asyncio.run(main())
