"""The in-memory storage: a real adapter (one process, nothing kept across restarts)."""
