"""studio.core."""
