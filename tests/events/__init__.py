"""Tests of the event hub: delivery, liveness, globs."""
