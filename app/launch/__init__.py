"""What has to be true before Qt starts: a display, and the libraries its plugin needs.

Plain Python (no Qt is loaded here), so the check can run and speak first.
"""
