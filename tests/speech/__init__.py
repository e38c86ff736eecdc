"""Tests of the speech manager."""
