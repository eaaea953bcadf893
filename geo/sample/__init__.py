"""Synthetic sample data for a demo city, labelled as such wherever it is shown."""
