"""Sizes on the ground, for converting between metres and degrees near a point."""

METRES_PER_DEGREE = 111_320.0  # of latitude anywhere, and of longitude at the equator
