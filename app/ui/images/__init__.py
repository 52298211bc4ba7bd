"""Image thumbnails and the full-size viewer, shared by the transcript and the composer."""
