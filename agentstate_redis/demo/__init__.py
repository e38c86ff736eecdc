"""``agentstate demo``: a real multi-process agent fleet that shows what the library guarantees.

>>> from agentstate_redis.demo import DemoSettings, run_demo
>>> report = asyncio.run(run_demo(DemoSettings(workers=4, tasks=200)))
>>> report.ok, report.failed_invariants
"""

from .coordinator import run_demo
from .report import DemoReport
from .scenario import DemoSettings

__all__ = ["DemoReport", "DemoSettings", "run_demo"]
