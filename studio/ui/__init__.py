"""studio.ui."""
