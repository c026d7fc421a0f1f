"""Zone geometry: validation and containment (pure)."""

from __future__ import annotations

import pytest

from zones.geometry import GeometryError, haversine_m, point_validate, zone_contains, zone_geometry_validate

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]]}


def test_polygon_contains_points_inside_only():
    assert zone_contains(SQUARE, None, (0.005, 0.005))
    assert not zone_contains(SQUARE, None, (0.02, 0.005))


def test_point_zone_uses_its_radius():
    centre = {"type": "Point", "coordinates": [-3.7038, 40.4168]}
    assert zone_contains(centre, 500, (-3.7038, 40.4200))  # ~355 m north
    assert not zone_contains(centre, 300, (-3.7038, 40.4200))


def test_haversine_is_about_right():
    assert haversine_m((0, 0), (0, 1)) == pytest.approx(111_195, rel=1e-3)


@pytest.mark.parametrize(
    ("geometry", "radius"),
    [
        ("nope", None),
        ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, None),
        ({"type": "Point", "coordinates": [0, 0]}, None),
        ({"type": "Point", "coordinates": [200, 0]}, 100),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}, None),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, None),
    ],
)
def test_bad_geometry_is_refused(geometry, radius):
    with pytest.raises(GeometryError):
        zone_geometry_validate(geometry, radius)


def test_a_location_point_is_validated():
    assert point_validate({"type": "Point", "coordinates": [2.17, 41.38]}) == (2.17, 41.38)
    with pytest.raises(GeometryError):
        point_validate({"type": "Point", "coordinates": ["a", "b"]})
