"""Allimi's HTTP API: thin FastAPI routers over the domain (``geo``) and map layers (``layers``)."""
