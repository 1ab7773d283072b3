"""The main window's pages; each one can be built alone with a store and a data home."""
