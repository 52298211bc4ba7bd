"""Maverick Desk: a desktop app for multimodal chat with Llama 4 Maverick."""

__version__ = "0.1.0"
