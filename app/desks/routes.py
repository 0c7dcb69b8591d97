"""Desk routes (filled in by the desks issue)."""
