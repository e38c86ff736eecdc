"""One module per ``agentstate`` subcommand; each has ``add_parser(subparsers)``."""

from . import coordinator, dashboard, demo, health, inspect, queue, server, watch, worker

ALL = [demo, server, health, inspect, queue, watch, worker, coordinator, dashboard]
