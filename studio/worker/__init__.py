"""studio.worker."""
