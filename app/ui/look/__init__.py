"""The look: palettes and the one window style sheet."""
