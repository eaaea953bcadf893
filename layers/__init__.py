"""The map layers Allimi publishes, each declared once and rendered as tiles or GeoJSON."""

from layers.base import Layer
from layers.conflicts import CONFLICTS
from layers.districts import DISTRICTS
from layers.projects import PROJECTS

LAYERS: dict[str, Layer] = {layer.id: layer for layer in (PROJECTS, DISTRICTS, CONFLICTS)}
