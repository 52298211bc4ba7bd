"""Capture: the window steps aside, the screen is shown frozen, the person drags a region."""
