"""Work off the GUI thread: one function on a thread pool, its outcome as a signal."""
