"""Run by the peers' python: LangGraph's own savers under the bench load; prints one JSON line.

    bench/.peers/venv/bin/python bench/peer_langgraph.py '{"duration": 2, "tasks": 64, "savers": ["postgres"]}'

postgres: AsyncPostgresSaver on an AsyncConnectionPool of ``tasks`` connections (LangGraph's
documented setup; the saver itself takes an asyncio.Lock around every operation, so one saver runs
one operation at a time). sqlite: AsyncSqliteSaver on a file in a temp dir. memory: InMemorySaver.
"""

from __future__ import annotations

import asyncio
import importlib.metadata as md
import json
import os
import sys
import tempfile
from contextlib import asynccontextmanager
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from langgraph_load import SIZES, measure

PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@asynccontextmanager
async def saver_for(name: str, tasks: int) -> Any:
    if name == "postgres":
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        async with AsyncConnectionPool(
            PG,
            min_size=4,
            max_size=tasks,
            open=False,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        ) as pool:
            saver = AsyncPostgresSaver(pool)
            await saver.setup()
            yield saver
    elif name == "sqlite":
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        with tempfile.TemporaryDirectory() as tmp:
            async with AsyncSqliteSaver.from_conn_string(os.path.join(tmp, "bench.sqlite")) as saver:
                await saver.setup()
                yield saver
    else:
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver()


async def main(args: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "versions": {
            n: md.version(n)
            for n in ("langgraph-checkpoint", "langgraph-checkpoint-postgres", "langgraph-checkpoint-sqlite", "psycopg")
        }
    }
    for name in args["savers"]:
        async with saver_for(name, args["tasks"]) as saver:
            for size in SIZES:
                out[f"{name}/{size}"] = await measure(saver, size, args["duration"], args["tasks"])
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
