"""The operations dashboard: pages, actions, ``/metrics`` and ``/healthz`` as an ASGI app.

    $ pip install 'agentstate-redis[dashboard]'
    $ agentstate dashboard --redis-url redis://localhost:6379/0          # http://127.0.0.1:8765/

    >>> from agentstate_redis.dashboard import create_app, metrics_app
    >>> app = create_app(redis_url="redis://localhost:6379/0", read_only=True)
    >>> api.mount("/ops", app)                  # FastAPI or any Starlette app, under a base path

Built on the public managers only (OrchestrationStateManager, WorkflowStateManager,
AgentStateStore, ToolStateManager) over one shared backend connection.
"""

from __future__ import annotations

try:
    import jinja2  # noqa: F401
    import prometheus_client  # noqa: F401
    import starlette  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"the dashboard needs the [dashboard] extra: pip install 'agentstate-redis[dashboard]' ({exc})"
    ) from exc

from .app import create_app, metrics_app

__all__ = ["create_app", "metrics_app"]
