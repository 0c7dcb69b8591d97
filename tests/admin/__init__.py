"""Tests of the administration area."""
