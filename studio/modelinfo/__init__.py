"""studio.modelinfo."""
