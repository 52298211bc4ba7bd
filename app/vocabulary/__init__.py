"""The words every room shares, below all of them: no Qt, no torch, nothing of app."""
