"""GeoJSON geometry for zones and episode locations: validation and containment. Pure, no ORM.

Coordinates are GeoJSON order, [longitude, latitude], in degrees (WGS 84).
A zone is a Polygon (outer ring first, closed) or a Point with a radius in metres.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

EARTH_RADIUS_M = 6_371_008.8


class GeometryError(ValueError):
    pass


def _position(value: Any) -> tuple[float, float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) < 2
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in value[:2])
    ):
        raise GeometryError("A position is [longitude, latitude].")
    lon, lat = float(value[0]), float(value[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise GeometryError(f"[{lon}, {lat}] is not a valid [longitude, latitude].")
    return lon, lat


def point_validate(geometry: Any) -> tuple[float, float]:
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise GeometryError('A location is a GeoJSON Point: {"type": "Point", "coordinates": [lon, lat]}.')
    return _position(geometry.get("coordinates"))


def zone_geometry_validate(geometry: Any, radius_m: float | None) -> None:
    """Raise GeometryError unless `geometry` (+ `radius_m`) describes a usable zone."""
    if not isinstance(geometry, dict):
        raise GeometryError("The geometry must be a GeoJSON object.")
    kind = geometry.get("type")
    if kind == "Point":
        point_validate(geometry)
        if radius_m is None or radius_m <= 0:
            raise GeometryError("A Point zone needs a radius in metres.")
        return
    if kind != "Polygon":
        raise GeometryError("A zone is a GeoJSON Polygon, or a Point with a radius.")
    rings = geometry.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise GeometryError("A Polygon needs at least one ring of positions.")
    for ring in rings:
        if not isinstance(ring, list) or len(ring) < 4:
            raise GeometryError("A Polygon ring needs at least 4 positions (closed: last equals first).")
        positions = [_position(p) for p in ring]
        if positions[0] != positions[-1]:
            raise GeometryError("A Polygon ring must be closed: its last position equals its first.")


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def _in_ring(point: tuple[float, float], ring: list[Any]) -> bool:
    # Ray casting; fine for neighbourhood-sized polygons away from the antimeridian.
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def zone_contains(geometry: dict[str, Any], radius_m: float | None, point: tuple[float, float]) -> bool:
    if geometry["type"] == "Point":
        return haversine_m(_position(geometry["coordinates"]), point) <= (radius_m or 0)
    outer, *holes = geometry["coordinates"]
    return _in_ring(point, outer) and not any(_in_ring(point, hole) for hole in holes)
