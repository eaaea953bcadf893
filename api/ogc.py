"""OGC API - Features (Part 1 Core, Part 3 Filtering) at ``/ogc``, from the layer catalogue."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/ogc", tags=["ogc"])
