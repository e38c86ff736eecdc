"""agentstate-redis: shared state for fleets of AI agents, on Redis.

    >>> from agentstate_redis import StateManager, StateConfig
    >>> state = StateManager(config=StateConfig(backend="redis", redis_url="redis://localhost:6379"))
    >>> await state.save("agent:researcher", {"status": "running"})
"""

from .backends import Backend, FileBackend, MemoryBackend, RedisBackend
from .config import StateConfig
from .embedded import EmbeddedRedis
from .errors import (
    AgentStateError,
    AlreadyExistsError,
    BackendLockedError,
    BackendUnavailableError,
    InvalidInputError,
    InvalidTransitionError,
    LeaseError,
    NotFoundError,
    RecoveryError,
    VersionConflictError,
)
from .events import ChangeEvent
from .state import StateEntry, StateManager

__version__ = "0.1.0"

__all__ = [
    "AgentStateError",
    "AlreadyExistsError",
    "Backend",
    "BackendLockedError",
    "BackendUnavailableError",
    "ChangeEvent",
    "EmbeddedRedis",
    "FileBackend",
    "InvalidInputError",
    "InvalidTransitionError",
    "LeaseError",
    "MemoryBackend",
    "NotFoundError",
    "RecoveryError",
    "RedisBackend",
    "StateConfig",
    "StateEntry",
    "StateManager",
    "VersionConflictError",
]
