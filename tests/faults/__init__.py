"""Tests of faults and hostile conditions: proxies, memory pressure, eviction, restarts, failover,
hostile input, security."""
