"""The bridge to the model: worker process and server engines to Qt signals; no widgets."""
