"""One module per ``agentstate`` subcommand; each has ``add_parser(subparsers)``."""

from . import coordinator, demo, health, server, watch, worker

ALL = [demo, server, health, watch, worker, coordinator]
