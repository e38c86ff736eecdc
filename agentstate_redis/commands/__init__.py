"""One module per ``agentstate`` subcommand; each has ``add_parser(subparsers)``."""

from . import demo, health, server, watch

ALL = [demo, server, health, watch]
