"""Reusable widgets of the studio window."""
