"""Single-process persistent backend: the memory backend plus atomic snapshots on disk.

    >>> backend = FileBackend(base_path="./state", format="msgpack", compression=True)
    >>> state = StateManager(backend=backend)
    >>> await state.save("agent:a", {"status": "idle"})
    >>> await state.close()          # writes the final snapshot, releases the lock

Snapshots are written to a temp file, fsynced and renamed over the old one, so
a crash at any moment leaves either the old or the new snapshot, never a torn
one. They are written every ``save_interval`` seconds when something changed,
on ``close()``, and after every write when ``save_interval`` is 0. An
exclusive lock file stops a second process from opening the same state.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from pathlib import Path
from typing import Any

from ..errors import BackendLockedError, InvalidInputError
from . import snapshot
from .memory import MemoryBackend


class FileBackend(MemoryBackend):
    name = "file"

    def __init__(
        self,
        base_path: str | os.PathLike[str] | None = None,
        *,
        file_path: str | os.PathLike[str] | None = None,
        format: str = "json",  # noqa: A002 - the seed's parameter name
        compression: bool = False,
        save_interval: float = 30.0,
        auto_save: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        if format not in snapshot.FORMATS:
            raise InvalidInputError(f"format must be one of {snapshot.FORMATS}, got {format!r}")
        if save_interval is None or save_interval < 0:
            raise InvalidInputError(f"save_interval must be >= 0 seconds, got {save_interval!r}")
        if file_path is None:
            suffix = (".json" if format == "json" else ".msgpack") + (".gz" if compression else "")
            file_path = Path(base_path or "./state") / f"state{suffix}"
        self.path = Path(file_path)
        self.format = format
        self.compression = compression
        self.save_interval = float(save_interval)
        self.auto_save = auto_save
        self._lock_fd: int | None = None
        self._dirty = False
        self._saver: asyncio.Task[None] | None = None

    def describe(self) -> str:
        return f"file backend at {self.path}"

    async def _open(self) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        if self.path.exists():
            snapshot.restore(self.sync_client(), snapshot.decode(self.path.read_bytes()))
        if self.auto_save and self.save_interval > 0:
            self._saver = asyncio.get_running_loop().create_task(self._save_periodically())
        return await super()._open()

    def _acquire_lock(self) -> None:
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise BackendLockedError(
                f"state file {self.path} is locked by pid {holder}; only one process may open it",
                path=str(self.path),
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    async def _after_write(self) -> None:
        self._dirty = True
        if self.auto_save and self.save_interval == 0:
            self.save_now()

    async def _save_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.save_interval)
            if self._dirty:
                self.save_now()

    def save_now(self) -> None:
        """Write a snapshot now (synchronously, so no coroutine can interleave a write)."""
        blob = snapshot.encode(snapshot.capture(self.sync_client()), self.format, self.compression)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._dirty = False

    async def close(self) -> None:
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
            self._saver = None
        if self._lock_fd is not None:
            self.save_now()
        await super().close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
