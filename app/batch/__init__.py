"""Batch jobs: one question over many images and PDF pages, saved item by item."""
