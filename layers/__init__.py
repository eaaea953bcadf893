"""The map layers Allimi publishes, each declared once and rendered as tiles, GeoJSON or OGC."""
