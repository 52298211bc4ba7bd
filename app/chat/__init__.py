"""The chat without Qt: one vocabulary, one engine interface, the session that owns a chat.

Any front end drives a `ChatSession`: the window (which renders it and forwards the
user's actions), the command line, a batch job. Nothing here imports Qt or torch
(import-linter, `pyproject.toml`).
"""
