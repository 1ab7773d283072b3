"""The adapter library: import, validate, list, rename, delete, merge and export adapters.

No Qt here. inspect, validate and library read files and headers only (no torch), so the GUI may
import them; export and merge import torch inside their functions and run in a child process
(`studio export`, `studio merge`). This __init__ imports nothing on purpose: importing the package
must never pull export/merge (and so torch) into the GUI.
"""
