"""The Sources strip: documents attached to the conversation, asked whole or by page."""
