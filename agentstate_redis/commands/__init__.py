"""One module per ``agentstate`` subcommand; each has ``add_parser(subparsers)``."""

from . import health, server, watch

ALL = [server, health, watch]
