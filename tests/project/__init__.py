"""Tests of the project itself: packaging, typing, README, version, deploy/, containers, bench/."""
