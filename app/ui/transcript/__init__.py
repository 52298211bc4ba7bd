"""The transcript: the window's conversation and the messages shown for it."""
