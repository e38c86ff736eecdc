"""Knowledge-base state: indexing progress from many indexers, source sync state, the aggregate.

>>> from agentstate_redis.knowledge import KnowledgeStateManager, IndexingStatus
"""

from .events import KnowledgeEvent
from .manager import KnowledgeStateManager
from .models import IndexingProgress, IndexingStatus, KnowledgeBaseState, SourceState, SyncStatus

__all__ = [
    "IndexingProgress",
    "IndexingStatus",
    "KnowledgeBaseState",
    "KnowledgeEvent",
    "KnowledgeStateManager",
    "SourceState",
    "SyncStatus",
]
