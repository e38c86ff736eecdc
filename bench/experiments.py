"""Proposed library changes, measured without editing the library (applied to one backend instance).

``fast_path(backend)``: ScriptRunner.run sends the script at once and enters tenacity's
AsyncRetrying only after a transient connection error. Today every call of a
``Retry: safe`` script builds an AsyncRetrying and runs its attempt machinery even when
the first try succeeds (~40-50 µs of CPU per call on this machine). Same semantics: the
same arguments (same op id) are resent on connection loss, bounded by retry_seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentstate_redis.scripts import ScriptRunner, _arg, is_transient


class FastPathRunner(ScriptRunner):
    async def run(self, name: str, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        script = self.library[name]
        if len(keys) != len(script.keys):
            raise TypeError(f"{name} takes {len(script.keys)} keys, got {len(keys)}")
        argv = [_arg(a) for a in args]
        keys = list(keys)
        try:
            reply = await self._call(script, keys, argv)
        except Exception as exc:
            if not (script.retry_safe and self.retry_seconds > 0 and is_transient(exc)):
                raise
            reply = await self._with_retries(script, keys, argv)
        if script.writes and self.after_write is not None:
            maybe = self.after_write()
            if maybe is not None:
                await maybe
        return reply


async def fast_path(backend: Any) -> Any:
    """Connect ``backend`` and switch its runner to the proposed fast path."""
    await backend.connect()
    backend._runner.__class__ = FastPathRunner
    return backend
