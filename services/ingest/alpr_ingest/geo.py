"""Point-in-polygon lookup of zip code and sector (344.3.2(c)) from GeoJSON boundaries.

Pure Python: ray casting with a bounding-box prefilter, Polygon and MultiPolygon, holes.
Features carry `zip_code`, `sector` or both; zip and sector layers may be separate features.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAMPLE_BOUNDARIES = Path(__file__).parent / "data" / "sample_boundaries.geojson"

Ring = tuple[tuple[float, float], ...]  # (lon, lat) pairs, as GeoJSON orders them


@dataclass(frozen=True, slots=True)
class _Polygon:
    outer: Ring
    holes: tuple[Ring, ...]
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def contains(self, lon: float, lat: float) -> bool:
        if not (self.min_lon <= lon <= self.max_lon and self.min_lat <= lat <= self.max_lat):
            return False
        if not _in_ring(self.outer, lon, lat):
            return False
        return not any(_in_ring(hole, lon, lat) for hole in self.holes)


@dataclass(frozen=True, slots=True)
class Boundary:
    zip_code: str | None
    sector: str | None
    polygons: tuple[_Polygon, ...]

    def contains(self, lat: float, lon: float) -> bool:
        return any(polygon.contains(lon, lat) for polygon in self.polygons)


def _in_ring(ring: Ring, x: float, y: float) -> bool:
    # Even-odd rule: count edges crossed by a ray going east from the point.
    inside = False
    x1, y1 = ring[-1]
    for x2, y2 in ring:
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
        x1, y1 = x2, y2
    return inside


def _ring(coords: Any, where: str) -> Ring:
    if not isinstance(coords, list) or len(coords) < 4:
        raise ValueError(f"{where}: a linear ring needs at least 4 positions")
    points: list[tuple[float, float]] = []
    for i, point in enumerate(coords):
        if (
            not isinstance(point, list | tuple)
            or len(point) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point[:2])
        ):
            raise ValueError(f"{where}[{i}]: a position is [longitude, latitude]")
        lon, lat = float(point[0]), float(point[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"{where}[{i}]: [{lon}, {lat}] is not a [longitude, latitude] pair")
        points.append((lon, lat))
    if points[0] != points[-1]:
        points.append(points[0])
    return tuple(points)


def _polygon(coords: Any, where: str) -> _Polygon:
    if not isinstance(coords, list) or not coords:
        raise ValueError(f"{where}: a polygon is a list of rings")
    rings = [_ring(ring, f"{where}[{i}]") for i, ring in enumerate(coords)]
    outer = rings[0]
    lons = [p[0] for p in outer]
    lats = [p[1] for p in outer]
    return _Polygon(outer, tuple(rings[1:]), min(lons), min(lats), max(lons), max(lats))


def _geometry(geometry: Any, where: str) -> tuple[_Polygon, ...]:
    if not isinstance(geometry, dict):
        raise ValueError(f"{where}: geometry is missing")
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon":
        return (_polygon(coords, f"{where}.coordinates"),)
    if kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise ValueError(f"{where}.coordinates: a MultiPolygon is a list of polygons")
        return tuple(_polygon(p, f"{where}.coordinates[{i}]") for i, p in enumerate(coords))
    raise ValueError(f"{where}.type: {kind!r} is not Polygon or MultiPolygon")


def _label(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class BoundaryIndex:
    """Zip-code and sector boundaries; `locate(lat, lon)` answers (zip_code, sector)."""

    def __init__(self, boundaries: Sequence[Boundary]) -> None:
        self.boundaries = tuple(boundaries)

    @classmethod
    def from_geojson(cls, data: dict[str, Any] | str | bytes) -> BoundaryIndex:
        """Build from a GeoJSON FeatureCollection (a dict or its JSON text).

        Raises ValueError naming the feature and field that is wrong.
        """
        doc = json.loads(data) if isinstance(data, str | bytes) else data
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
            raise ValueError("boundaries must be a GeoJSON FeatureCollection")
        features = doc.get("features")
        if not isinstance(features, list):
            raise ValueError("features: must be a list")
        boundaries = []
        for i, feature in enumerate(features):
            where = f"features[{i}]"
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                raise ValueError(f"{where}: is not a GeoJSON Feature")
            props = feature.get("properties") or {}
            if not isinstance(props, dict):
                raise ValueError(f"{where}.properties: must be an object")
            zip_code, sector = _label(props.get("zip_code")), _label(props.get("sector"))
            if zip_code is None and sector is None:
                raise ValueError(f"{where}.properties: needs zip_code or sector")
            polygons = _geometry(feature.get("geometry"), f"{where}.geometry")
            boundaries.append(Boundary(zip_code, sector, polygons))
        return cls(boundaries)

    @classmethod
    def load(cls, path: str | Path = SAMPLE_BOUNDARIES) -> BoundaryIndex:
        return cls.from_geojson(Path(path).read_bytes())

    def locate(self, lat: float, lon: float) -> tuple[str | None, str | None]:
        """(zip_code, sector) of the point, each None outside every boundary that names one.

        Where boundaries overlap, the first feature in the file wins. A point exactly on an
        edge may fall on either side.
        """
        zip_code: str | None = None
        sector: str | None = None
        for boundary in self.boundaries:
            need_zip = zip_code is None and boundary.zip_code is not None
            need_sector = sector is None and boundary.sector is not None
            if (need_zip or need_sector) and boundary.contains(lat, lon):
                if need_zip:
                    zip_code = boundary.zip_code
                if need_sector:
                    sector = boundary.sector
            if zip_code is not None and sector is not None:
                break
        return zip_code, sector
