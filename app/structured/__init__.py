"""Structured answers: fields as a bounded JSON Schema, and the check that an answer is one.

Plain Python: no Qt, no torch, no grammar engine (that is `app.inference.constrained`).
"""
