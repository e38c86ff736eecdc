"""One module per ``agentstate`` subcommand; each has ``add_parser(subparsers)``."""

from . import coordinator, dashboard, demo, health, inspect, scheduler, server, watch, worker

ALL = [demo, server, health, inspect, watch, worker, scheduler, coordinator, dashboard]
