"""Tests of the LangGraph savers: conformance, a real graph, the saver's own guarantees."""
