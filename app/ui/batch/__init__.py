"""The Batch window: one question over many images and PDF pages, results as a table."""
