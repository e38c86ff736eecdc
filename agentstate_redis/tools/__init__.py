"""Tool execution state: executions, exact stats, a stampede-safe result cache and retry schedules.

>>> from agentstate_redis.tools import ToolStateManager, ToolExecution
>>> tools = ToolStateManager(persistence="redis", cache_results=True, cache_ttl=3600)
"""

from .manager import ToolStateManager
from .models import RetryState, ToolCacheEntry, ToolExecution, ToolExecutionStatus, ToolStats
from .params_hash import hash_parameters

__all__ = [
    "RetryState",
    "ToolCacheEntry",
    "ToolExecution",
    "ToolExecutionStatus",
    "ToolStateManager",
    "ToolStats",
    "hash_parameters",
]
