"""Tests of run_worker and the `agentstate worker` / `coordinator` processes."""
