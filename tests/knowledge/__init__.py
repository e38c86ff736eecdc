"""Tests of the knowledge manager."""
