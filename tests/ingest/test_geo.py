import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpr_ingest.geo import SAMPLE_BOUNDARIES, BoundaryIndex


def square(lon0, lat0, lon1, lat1):
    return [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def feature(geometry_type, coordinates, **properties):
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": geometry_type, "coordinates": coordinates},
    }


@pytest.fixture(scope="module")
def sample():
    return BoundaryIndex.load()


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        (30.2674, -97.7360, ("78701", "George")),  # OpenALPR example camera, downtown
        (30.2740, -97.7400, ("78711", "George")),  # inside downtown's hole, its own feature
        (30.2467, -97.7512, ("78704", "David")),  # Genetec example read
        (30.2620, -97.6950, ("78702", "Charlie")),  # second part of a MultiPolygon
        (30.2450, -97.7170, (None, "Henry")),  # sector layer without a zip
        (30.28812, -97.73362, (None, None)),  # AXIS example, outside every boundary
        (30.2620, -97.7020, (None, None)),  # between the two MultiPolygon parts
    ],
)
def test_sample_boundaries_locate_zip_and_sector(sample, lat, lon, expected):
    assert sample.locate(lat, lon) == expected


def test_sample_boundary_file_ships_with_the_package():
    assert SAMPLE_BOUNDARIES.is_file()
    assert json.loads(SAMPLE_BOUNDARIES.read_text())["type"] == "FeatureCollection"


def test_point_in_a_hole_is_outside_the_polygon():
    index = BoundaryIndex.from_geojson(
        collection(
            feature(
                "Polygon",
                [square(0, 0, 10, 10), square(4, 4, 6, 6)],
                zip_code="00001",
                sector="Ring",
            )
        )
    )
    assert index.locate(5, 5) == (None, None)
    assert index.locate(2, 2) == ("00001", "Ring")
    assert index.locate(5, 8) == ("00001", "Ring")


def test_multipolygon_with_a_hole_in_one_part():
    index = BoundaryIndex.from_geojson(
        collection(
            feature(
                "MultiPolygon",
                [[square(0, 0, 10, 10), square(2, 2, 8, 8)], [square(20, 20, 30, 30)]],
                zip_code="00002",
            )
        )
    )
    assert index.locate(1, 1) == ("00002", None)
    assert index.locate(5, 5) == (None, None)
    assert index.locate(25, 25) == ("00002", None)
    assert index.locate(15, 15) == (None, None)


def test_concave_polygon():
    # A "U": the notch between the arms is outside.
    u_shape = [[0, 0], [9, 0], [9, 9], [6, 9], [6, 3], [3, 3], [3, 9], [0, 9], [0, 0]]
    index = BoundaryIndex.from_geojson(collection(feature("Polygon", [u_shape], sector="U")))
    assert index.locate(6, 1.5) == (None, "U")  # lat 6, lon 1.5: left arm
    assert index.locate(6, 4.5) == (None, None)  # the notch
    assert index.locate(1, 4.5) == (None, "U")  # the base


def test_separate_zip_and_sector_layers_combine():
    index = BoundaryIndex.from_geojson(
        collection(
            feature("Polygon", [square(0, 0, 10, 10)], zip_code="78745"),
            feature("Polygon", [square(5, 5, 20, 20)], sector="Frank"),
        )
    )
    assert index.locate(7, 7) == ("78745", "Frank")
    assert index.locate(2, 2) == ("78745", None)
    assert index.locate(15, 15) == (None, "Frank")


def test_first_feature_wins_where_boundaries_overlap():
    index = BoundaryIndex.from_geojson(
        collection(
            feature("Polygon", [square(0, 0, 10, 10)], zip_code="A", sector="S1"),
            feature("Polygon", [square(0, 0, 10, 10)], zip_code="B", sector="S2"),
        )
    )
    assert index.locate(5, 5) == ("A", "S1")


def test_unclosed_ring_is_closed():
    ring = [[0, 0], [10, 0], [10, 10], [0, 10]]
    index = BoundaryIndex.from_geojson(collection(feature("Polygon", [ring], sector="Open")))
    assert index.locate(5, 5) == (None, "Open")


@pytest.mark.parametrize(
    ("doc", "mentions"),
    [
        ({"type": "Feature"}, "FeatureCollection"),
        (collection(feature("Point", [0, 0], zip_code="1")), "Polygon or MultiPolygon"),
        (collection(feature("Polygon", [square(0, 0, 1, 1)])), "zip_code or sector"),
        (collection(feature("Polygon", [[[0, 0], [1, 1]]], zip_code="1")), "at least 4"),
        (collection(feature("Polygon", [[[0, 0], [1, 0], [1, 1], [200, 0]]], sector="x")), "[3]"),
        (collection({"type": "Feature", "properties": {"sector": "x"}}), "geometry"),
    ],
)
def test_invalid_boundaries_raise_naming_the_feature(doc, mentions):
    with pytest.raises(ValueError) as err:
        BoundaryIndex.from_geojson(doc)
    assert mentions in str(err.value)


def test_boundaries_load_from_json_text():
    text = json.dumps(collection(feature("Polygon", [square(0, 0, 1, 1)], zip_code="Z")))
    assert BoundaryIndex.from_geojson(text).locate(0.5, 0.5) == ("Z", None)


_coord = st.floats(min_value=-80, max_value=80, allow_nan=False, allow_infinity=False)


@given(
    _coord,
    _coord,
    st.floats(min_value=0.01, max_value=9),
    st.floats(0.01, 0.99),
    st.floats(0.01, 0.99),
)
def test_point_strictly_inside_a_rectangle_is_found(lat0, lon0, size, fx, fy):
    index = BoundaryIndex.from_geojson(
        collection(feature("Polygon", [square(lon0, lat0, lon0 + size, lat0 + size)], zip_code="R"))
    )
    assert index.locate(lat0 + fy * size, lon0 + fx * size) == ("R", None)
    assert index.locate(lat0 - 1, lon0 + fx * size) == (None, None)
