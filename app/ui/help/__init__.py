"""The Help menu and the About dialog."""
