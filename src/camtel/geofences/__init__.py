"""Geofences: polygons, geodesic circles and corridors, matched against positions."""
