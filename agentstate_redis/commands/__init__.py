"""One module per ``agentstate`` subcommand; each has ``add_parser(subparsers)``."""

from . import coordinator, dashboard, demo, health, inspect, server, watch, worker

ALL = [demo, server, health, inspect, watch, worker, coordinator, dashboard]
