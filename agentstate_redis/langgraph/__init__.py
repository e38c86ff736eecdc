"""LangGraph checkpointers on plain Redis, Valkey and Redis Cluster (extra ``[langgraph]``).

    >>> from agentstate_redis.langgraph import AsyncCheckpointSaver, CheckpointSaver
    >>> async with AsyncCheckpointSaver.from_conn_string("redis://localhost:6379") as saver:
    ...     graph = builder.compile(checkpointer=saver)

Modules: ``store`` (CheckpointStore, the scripts), ``saver`` (the async saver), ``sync`` (the sync
saver), ``sync_faces`` (the sync methods both savers share), ``serde`` (payloads, no pickle), ``wire``
(field spelling and replies).
"""

from __future__ import annotations

try:
    import langgraph.checkpoint.base  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "agentstate_redis.langgraph needs langgraph-checkpoint: pip install 'agentstate-redis[langgraph]'"
    ) from exc

from .saver import AsyncCheckpointSaver
from .serde import PickleRefusedError
from .store import CheckpointStore
from .sync import CheckpointSaver

__all__ = ["AsyncCheckpointSaver", "CheckpointSaver", "CheckpointStore", "PickleRefusedError"]
