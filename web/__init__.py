"""The browser client: HTML, scripts and styles served by Allimi itself."""

from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
NODE_MODULES = WEB_DIR / "node_modules"  # npm ci in web/ (pinned in package-lock.json)
LEAFLET_DIR = NODE_MODULES / "leaflet" / "dist"
GEOMAN_DIR = NODE_MODULES / "@geoman-io" / "leaflet-geoman-free" / "dist"  # the editor's drawing
SWAGGER_UI_DIR = NODE_MODULES / "swagger-ui-dist"
REDOC_DIR = NODE_MODULES / "redoc" / "bundles"
