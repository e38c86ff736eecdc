"""The file backend: atomic snapshots, formats, TTLs across reopen, the lock, crash safety."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from agentstate_redis import FileBackend, InvalidInputError, StateConfig, StateManager
from agentstate_redis.backends import snapshot

from .. import workers_file
from ..procs import _ctx, run_processes


@pytest.mark.parametrize("fmt", ["json", "msgpack"])
@pytest.mark.parametrize("compression", [False, True])
async def test_reopen_restores_everything_including_ttls(tmp_path: Path, fmt: str, compression: bool) -> None:
    path = str(tmp_path / "state.bin")
    state = StateManager(backend=FileBackend(file_path=path, format=fmt, compression=compression))
    await state.save("agent:a", {"status": "idle", "n": [1, 2, {"x": None}]})
    await state.update("agent:a", {"n": 5})
    await state.save("agent:short", {"a": 1}, ttl=0.5)
    await state.save("agent:long", {"a": 1}, ttl=100)
    client = state.backend.client
    await client.xadd(f"{state.keys.prefix}stream", {"f": "v"})
    await client.zadd(f"{state.keys.prefix}zset", {"m": 1.5})
    await client.sadd(f"{state.keys.prefix}set", "a", "b")
    await client.rpush(f"{state.keys.prefix}list", "1", "2")
    await state.backend.close()
    blob = Path(path).read_bytes()
    assert (blob[:2] == b"\x1f\x8b") == compression

    again = StateManager(backend=FileBackend(file_path=path, format=fmt, compression=compression))
    entry = await again.get_entry("agent:a")
    assert entry is not None and entry.value == {"status": "idle", "n": 5} and entry.version == 2
    long_ttl = (await again.get_entry("agent:long")).ttl  # type: ignore[union-attr]
    assert long_ttl is not None and 90 < long_ttl <= 100
    c = again.backend.client
    p = again.keys.prefix
    assert [f for _, f in await c.xrange(f"{p}stream")] == [{"f": "v"}]
    assert await c.zrange(f"{p}zset", 0, -1, withscores=True) == [("m", 1.5)]
    assert await c.smembers(f"{p}set") == {"a", "b"}
    assert await c.lrange(f"{p}list", 0, -1) == ["1", "2"]
    await again.backend.close()

    time.sleep(0.6)
    third = StateManager(backend=FileBackend(file_path=path, format=fmt, compression=compression))
    assert await third.get("agent:short") is None  # its TTL ran out while on disk
    assert await third.get("agent:long") == {"a": 1}
    await third.backend.close()


async def test_save_interval_zero_writes_after_every_write(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    state = StateManager(backend=FileBackend(file_path=path, save_interval=0))
    await state.save("a", {"n": 1})
    assert f"{state.keys.prefix}{{state:a}}" in _keys_on_disk(path)
    await state.update("a", {"n": 2})
    assert _on_disk(path, state, "a") == {"#v": "2", "#n": "2", ".n": "2"}  # #n: the size of the value
    await state.backend.close()


async def test_periodic_snapshots(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    state = StateManager(backend=FileBackend(file_path=path, save_interval=0.1))
    await state.save("a", {"n": 1})
    assert not path.exists()
    for _ in range(50):
        if path.exists():
            break
        await asyncio.sleep(0.05)
    assert _on_disk(path, state, "a") == {"#v": "1", "#n": "2", ".n": "1"}
    await state.backend.close()


async def test_config_builds_a_file_backend(tmp_path: Path) -> None:
    path = tmp_path / "app_state.json"
    state = StateManager(config=StateConfig(backend="file", file_path=str(path), auto_save=True))
    await state.save("x", {"y": 1})
    await state.backend.close()
    assert path.exists()
    again = StateManager(config=StateConfig(backend="file", file_path=str(path)))
    assert await again.get("x") == {"y": 1}
    await again.backend.close()


def test_base_path_names_the_file(tmp_path: Path) -> None:
    backend = FileBackend(base_path=tmp_path / "state", format="msgpack", compression=True)
    assert backend.path == tmp_path / "state" / "state.msgpack.gz"
    with pytest.raises(InvalidInputError, match="format"):
        FileBackend(base_path=tmp_path, format="yaml")


async def test_a_second_process_gets_the_lock_error(tmp_path: Path) -> None:
    path = str(tmp_path / "locked.json")
    state = StateManager(backend=FileBackend(file_path=path))
    await state.save("a", {})
    [result] = run_processes(workers_file.try_open, [(path,)])
    assert result.startswith("locked: ") and str(os.getpid()) in result and "locked.json" in result
    await state.backend.close()
    [result] = run_processes(workers_file.try_open, [(path,)])
    assert result == "opened"


@pytest.mark.parametrize("fmt, compression", [("json", False), ("msgpack", True)])
def test_kill_9_during_writes_leaves_a_loadable_file(tmp_path: Path, fmt: str, compression: bool) -> None:
    path = str(tmp_path / "crash.bin")
    for attempt in range(3):
        ready = _ctx.Event()
        proc = _ctx.Process(target=workers_file.write_forever, args=(path, fmt, compression, ready))
        proc.start()
        assert ready.wait(30)
        time.sleep(0.05 * (attempt + 1))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        data = snapshot.decode(Path(path).read_bytes())  # never torn
        assert len(data["keys"]) > 0
        assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp") and "crash" not in p]
    [result] = run_processes(workers_file.try_open, [(path,)])
    assert result == "opened", "a SIGKILLed holder must not leave the lock behind"


def _keys_on_disk(path: Path) -> set[str]:
    return {e["k"] for e in snapshot.decode(path.read_bytes())["keys"]}


def _on_disk(path: Path, state: StateManager, key: str) -> dict[str, str]:
    base = state.keys.state(key).base
    return next(e["v"] for e in snapshot.decode(path.read_bytes())["keys"] if e["k"] == base)
