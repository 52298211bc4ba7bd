"""Saved conversations: saving, the sidebar, search, trash, export and import."""
