"""Structured answers in the window: the field editor and the answer table."""
