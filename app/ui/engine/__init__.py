"""The model and the engine: choosing them, servers, and the status bar showing them."""
