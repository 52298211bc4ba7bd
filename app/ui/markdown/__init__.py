"""Markdown to safe HTML, streamed into text browsers; the renderer's warm-ups."""
