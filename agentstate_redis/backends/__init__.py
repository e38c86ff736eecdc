"""The three backends; all run the same Lua scripts."""

from .base import Backend
from .file import FileBackend
from .memory import MemoryBackend
from .redis import RedisBackend

__all__ = ["Backend", "FileBackend", "MemoryBackend", "RedisBackend"]
