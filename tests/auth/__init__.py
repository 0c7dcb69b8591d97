"""Tests of the sign-in area."""
