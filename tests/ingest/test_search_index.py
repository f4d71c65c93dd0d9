"""Partial plates through the trigram index, vehicle attributes, ranking, and the index under the
purge: on PostgreSQL (a pg_trgm GIN index in each closed day partition, the plate btrees in the
current day) and SQLite (the FTS5 trigram table)."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from alpr_ingest import partitions, purge, vehicles
from alpr_ingest.plates import fold_confusable, parse_plate_query
from alpr_ingest.repository.reads import READS, key_pattern, rebuild_trigram_index
from tests.helpers.ingest import NOW

# A small alphabet, rich in OCR look-alikes, so that patterns match several plates.
ALPHABET = "AB80OQDX12Z5S"
CORPUS = 240
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
async def corpus(ingest):
    """240 reads over ten days from two cameras, some plates seen several times."""
    await ingest.camera("cam-p1")
    await ingest.camera("cam-p2")
    rng = random.Random(20)
    plates = ["".join(rng.choices(ALPHABET, k=rng.choice((5, 6, 7)))) for _ in range(150)]
    reads = [
        ingest.read(
            rng.choice(("cam-p1", "cam-p2")),
            rng.choice(plates),
            captured_at=NOW - timedelta(minutes=rng.randrange(1, 10 * 24 * 60)),
            vendor_read_id=f"p{i}",
        )
        for i in range(CORPUS)
    ]
    resp = await ingest.post(reads)
    assert resp.status_code == 200 and resp.json()["stored"] == CORPUS, resp.text
    page = await ingest.search(camera_id="cam-p1", limit=500)
    page2 = await ingest.search(camera_id="cam-p2", limit=500)
    stored = page.json()["items"] + page2.json()["items"]
    assert len(stored) == CORPUS
    # PostgreSQL: the closed days get their trigram index, the current day has none, so a
    # search crosses both kinds of day partition.
    await purge.index_search(ingest.db, now=NOW)
    return ingest, plates, stored


def reference(stored, query: str, *, confusable: bool) -> list[tuple[str, str]]:
    """A plain scan: every stored read tested against the query, ranked as the search says."""
    q, wild = parse_plate_query(query)
    regex = re.compile(q.replace("*", ".*").replace("?", "."))
    folded = re.compile(fold_confusable(q).replace("*", ".*").replace("?", "."))
    hits = []
    for r in stored:
        plate = r["plate"]
        if not wild and plate == q:
            kind = 0
        elif not wild and confusable and fold_confusable(plate) == fold_confusable(q):
            kind = 1
        elif wild and regex.fullmatch(plate):
            kind = 2
        elif wild and confusable and folded.fullmatch(fold_confusable(plate)):
            kind = 3
        else:
            continue
        hits.append((kind, r["captured_at"], r["read_id"]))
    # Best match first, newest first within a kind, then by id (stable sorts, last key first).
    hits.sort(key=lambda h: h[2])
    hits.sort(key=lambda h: h[1], reverse=True)
    hits.sort(key=lambda h: h[0])
    kinds = ("exact", "look-alike", "partial", "partial-look-alike")
    return [(read_id, kinds[kind]) for kind, _, read_id in hits]


@st.composite
def patterns(draw, plates):
    """A pattern of every shape, cut from a stored plate (or not): prefix `PXK7*`, suffix
    `*7342`, middle `*K73*`, single unknowns `PX?7342`, both, or the plate itself."""
    plate = draw(st.sampled_from(plates) | st.text(ALPHABET, min_size=5, max_size=7))
    chars = list(plate)
    for i in draw(st.sets(st.integers(0, len(chars) - 1), max_size=2)):
        chars[i] = "?"
    shape = draw(st.sampled_from(("whole", "prefix", "suffix", "middle")))
    cut = draw(st.integers(1, max(1, len(chars) - 3)))
    if shape == "prefix":
        chars = [*chars[:-cut], "*"]
    elif shape == "suffix":
        chars = ["*", *chars[cut:]]
    elif shape == "middle":
        chars = ["*", *chars[cut : cut + 3], "*"]
    return "".join(chars)


@SETTINGS
@given(data=st.data())
async def test_every_pattern_shape_finds_what_a_plain_scan_finds(corpus, data):
    ingest, plates, stored = corpus
    query = data.draw(patterns(plates))
    confusable = data.draw(st.booleans())
    try:
        parse_plate_query(query)
    except ValueError:
        resp = await ingest.search(plate=query, confusable=str(confusable).lower())
        assert resp.status_code == 422, query
        assume(False)
    resp = await ingest.search(plate=query, confusable=str(confusable).lower(), limit=500)
    assert resp.status_code == 200, resp.text
    page = resp.json()
    got = [(r["read_id"], r["match"]) for r in page["items"]]
    assert got == reference(stored, query, confusable=confusable), query
    assert page["total"] == len(got)


async def test_results_rank_exact_then_look_alike_then_newest(ingest):
    await ingest.camera("cam-r")
    reads = [
        ingest.read("cam-r", "PXK7842", captured_at=NOW - timedelta(days=2)),
        ingest.read("cam-r", "PXK7842", captured_at=NOW - timedelta(hours=1)),
        ingest.read("cam-r", "PXK7B42", captured_at=NOW - timedelta(minutes=5)),
        ingest.read("cam-r", "PXK7942", captured_at=NOW - timedelta(minutes=1)),
    ]
    assert (await ingest.post(reads)).json()["stored"] == 4

    async def ranked(plate):
        items = (await ingest.search(plate=plate, confusable="true")).json()["items"]
        return [(r["plate"], r["match"]) for r in items], [r["captured_at"] for r in items]

    found, times = await ranked("PXK7842")
    assert found == [("PXK7842", "exact"), ("PXK7842", "exact"), ("PXK7B42", "look-alike")]
    assert times[0] > times[1]
    found, times = await ranked("PXK7?42")
    assert [p for p, _ in found] == ["PXK7942", "PXK7B42", "PXK7842", "PXK7842"]
    assert {m for _, m in found} == {"partial"} and times == sorted(times, reverse=True)
    found, _ = await ranked("*K7B42")
    assert found == [
        ("PXK7B42", "partial"),
        ("PXK7842", "partial-look-alike"),
        ("PXK7842", "partial-look-alike"),
    ]
    # A camera search has no plate to rank by.
    assert {r["match"] for r in (await ingest.search(camera_id="cam-r")).json()["items"]} == {None}


@pytest.mark.parametrize("pattern", ["P?X?K7*", "A?B?C", "*7*3*4*", "AB?", "*7*"])
async def test_a_pattern_without_three_known_characters_in_a_row_is_refused(ingest, pattern):
    resp = await ingest.search(plate=pattern)
    assert resp.status_code == 422, pattern
    assert "letters or digits" in resp.json()["detail"]


def test_vendor_vehicle_words_share_one_vocabulary():
    assert {vehicles.color(w) for w in ("GRY", "grey", "Gray", "gy", "Dark Gray")} == {"grey"}
    assert vehicles.color("silver-gray") == "silver"
    assert vehicles.color("WHI") == vehicles.color("white") == "white"
    assert vehicles.color("unknown") is None
    assert vehicles.body_type("SUVMPV") == vehicles.body_type("suv-crossover") == "suv"
    assert vehicles.body_type("Pickup Truck") == vehicles.body_type("pickup-standard") == "pickup"
    assert vehicles.body_type("SaloonCar") == "sedan"
    assert vehicles.make("TOYT") == vehicles.make("Toyota") == "toyota"
    assert vehicles.make("Chevy") == vehicles.make("CHEV") == "chevrolet"
    assert vehicles.make("Mercedes Benz") == vehicles.make("mercedes-benz") == "mercedes-benz"
    assert vehicles.model("Model 3") == vehicles.model("model_3") == "model-3"


@pytest.mark.policy("344.4(a)1")
async def test_vehicle_attributes_narrow_a_plate_camera_or_area_search(ingest):
    await ingest.camera("cam-v")
    gray_suv = {"make": "TOYT", "color": "GRY", "type": "SUVMPV"}
    gray_rav = {"make": "toyota", "model": "RAV 4", "color": "gray"}
    pickup = {"make": "Ford", "color": "Silver", "type": "Pickup Truck"}
    reads = [
        ingest.read("cam-v", "KT4242", vehicle=gray_suv),
        ingest.read("cam-v", "KT9242", vehicle=gray_rav),
        ingest.read("cam-v", "KT1142", vehicle=pickup),
        ingest.read("cam-v", "KT7742"),
    ]
    assert (await ingest.post(reads)).json()["stored"] == 4

    async def found(**params):
        resp = await ingest.search(**params)
        assert resp.status_code == 200, resp.text
        return sorted(r["plate"] for r in resp.json()["items"])

    assert await found(plate="*242", vehicle_color="grey") == ["KT4242", "KT9242"]
    # "A silver pickup, plate ends in 42": two characters will do beside the vehicle (or a
    # camera, or an area), never alone.
    assert await found(plate="*42", vehicle_color="silver", vehicle_type="pickup") == ["KT1142"]
    assert await found(plate="KT*", camera_id="cam-v", vehicle_type="suv") == ["KT4242"]
    resp = await ingest.search(plate="*42")
    assert resp.status_code == 422 and "vehicle attribute" in resp.json()["detail"]
    resp = await ingest.search(plate="*4?2", vehicle_color="grey")
    assert resp.status_code == 422
    assert await found(plate="KT?2*", vehicle_color="Gray", vehicle_make="TOYOTA") == [
        "KT4242",
        "KT9242",
    ]
    assert await found(plate="KT?2*", vehicle_model="rav4") == []
    assert await found(plate="KT?2*", vehicle_model="rav-4") == ["KT9242"]
    assert await found(camera_id="cam-v", vehicle_type="suv") == ["KT4242"]
    assert await found(camera_id="cam-v", vehicle_color=["silver", "grey"]) == [
        "KT1142",
        "KT4242",
        "KT9242",
    ]
    item = (await ingest.search(plate="KT1142")).json()["items"][0]
    assert (item["vehicle_make"], item["vehicle_color"], item["vehicle_type"]) == (
        "ford",
        "silver",
        "pickup",
    )
    assert item["vehicle"]["color"] == "Silver"  # the camera's own word is kept
    resp = await ingest.search(plate="KT?2*", vehicle_color="plaid")
    assert resp.status_code == 422 and "silver" in resp.json()["detail"]
    # Attributes narrow a search; alone they are not one.
    resp = await ingest.search(vehicle_color="grey")
    assert resp.status_code == 422 and "vehicle attributes narrow" in resp.json()["detail"]


async def _trigram_indexed(session) -> dict[str, bool]:
    """PostgreSQL: each day partition, and whether it carries a valid trigram index of the
    whole day."""
    rows = await session.execute(
        text(
            "SELECT c.relname, bool_or(x.indisvalid IS TRUE AND x.indpred IS NULL) "
            "FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid "
            "LEFT JOIN pg_index x ON x.indrelid = c.oid AND pg_get_indexdef(x.indexrelid) "
            "LIKE '%gin_trgm_ops%' WHERE h.inhparent = 'plate_read'::regclass GROUP BY c.relname"
        )
    )
    return dict(rows.all())


async def _current_day_indexes(session) -> list[str]:
    rows = await session.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_index x ON x.indexrelid = c.oid "
            "WHERE x.indpred IS NOT NULL AND pg_get_indexdef(x.indexrelid) LIKE '%gin_trgm_ops%' "
            "ORDER BY 1"
        )
    )
    return list(rows.scalars())


async def test_a_closed_day_gets_its_trigram_index_once(ingest, db_backend):
    """PostgreSQL: the trigram index is not kept on insert; a day that has ended and holds reads
    gets one, built once (again if a build was interrupted); the current day gets one up to the
    last quarter hour, replaced by the next quarter's; every kind of day is searched alike."""
    if db_backend != "postgresql":
        assert await purge.index_search(ingest.db, now=NOW) == {
            "days_indexed": [],
            "current_day_indexed_until": None,
        }
        return
    await ingest.camera("cam-i")
    yesterday = NOW - timedelta(days=1)
    reads = [
        ingest.read("cam-i", "IDX1234", captured_at=yesterday, vendor_read_id="i-1"),
        ingest.read(
            "cam-i", "IDX5234", captured_at=NOW - timedelta(minutes=5), vendor_read_id="i-2"
        ),
        ingest.read("cam-i", "IDX6234", captured_at=NOW, vendor_read_id="i-3"),
    ]
    assert (await ingest.post(reads)).json()["stored"] == 3
    async with ingest.db.sessionmaker() as session:
        assert not any((await _trigram_indexed(session)).values())
        assert await _current_day_indexes(session) == []
    # NOW is 18:31:13: the current day's index stops at 18:30 (IDX5234 in, IDX6234 after).
    mark = "2025-03-14T18:30:00+00:00"
    assert await purge.index_search(ingest.db, now=NOW) == {
        "days_indexed": [yesterday.date().isoformat()],
        "current_day_indexed_until": mark,
    }
    assert await purge.index_search(ingest.db, now=NOW + timedelta(minutes=10)) == {
        "days_indexed": [],
        "current_day_indexed_until": mark,
    }
    async with ingest.db.sessionmaker() as session:
        indexed = await _trigram_indexed(session)
        assert [name for name, has in indexed.items() if has] == [f"plate_read_p{yesterday:%Y%m%d}"]
        assert await _current_day_indexes(session) == ["plate_read_p20250314_trgm_to_1830"]
        assert await partitions.until_marks(session) == [NOW.replace(minute=30, second=0)]
        # A build interrupted midway leaves an invalid index: it is built again.
        await session.execute(
            text(
                "UPDATE pg_index SET indisvalid = false WHERE indexrelid = "
                f"'plate_read_p{yesterday:%Y%m%d}_trgm'::regclass"
            )
        )
        await session.commit()
    assert (await purge.index_search(ingest.db, now=NOW))["days_indexed"] == [
        yesterday.date().isoformat()
    ]
    async with ingest.db.sessionmaker() as session:
        assert (await _trigram_indexed(session))[f"plate_read_p{yesterday:%Y%m%d}"]
        # So is the current day's; meanwhile the search does not count on it.
        await session.execute(
            text(
                "UPDATE pg_index SET indisvalid = false WHERE indexrelid = "
                "'plate_read_p20250314_trgm_to_1830'::regclass"
            )
        )
        await session.commit()
        assert await partitions.until_marks(session) == []
    assert (await purge.index_search(ingest.db, now=NOW))["current_day_indexed_until"] == mark
    async with ingest.db.sessionmaker() as session:
        assert await partitions.until_marks(session) == [NOW.replace(minute=30, second=0)]
    searched = {
        "IDX*": ["IDX6234", "IDX5234", "IDX1234"],
        "*234": ["IDX6234", "IDX5234", "IDX1234"],
        "*X52*": ["IDX5234"],
        "*X62*": ["IDX6234"],
        "*DX1*": ["IDX1234"],
        "?DX1234": ["IDX1234"],
    }
    for pattern, plates in searched.items():
        resp = await ingest.search(plate=pattern)
        assert resp.status_code == 200, resp.text
        items = resp.json()["items"]
        assert [r["plate"] for r in items] == plates, pattern
    # The next quarter's index replaces the last one; the day, once closed, is indexed whole
    # and its current-day index goes.
    later = await purge.index_search(ingest.db, now=NOW + timedelta(minutes=20))
    assert later["current_day_indexed_until"] == "2025-03-14T18:45:00+00:00"
    async with ingest.db.sessionmaker() as session:
        assert await _current_day_indexes(session) == ["plate_read_p20250314_trgm_to_1845"]
    tomorrow = await purge.index_search(ingest.db, now=NOW + timedelta(days=1))
    assert tomorrow == {"days_indexed": [NOW.date().isoformat()], "current_day_indexed_until": None}
    async with ingest.db.sessionmaker() as session:
        assert await _current_day_indexes(session) == []
    for pattern, plates in searched.items():
        resp = await ingest.search(plate=pattern)
        assert resp.status_code == 200, resp.text
        items = resp.json()["items"]
        assert [r["plate"] for r in items] == plates, pattern


async def test_a_middle_pattern_uses_the_current_day_index(ingest, db_backend):
    """A pattern known only in its middle is found through an index in the current day too.
    PostgreSQL: its condition is split at the current day's mark, so that the planner can
    prove the day's trigram index (a partial index) serves the reads before the mark, and uses
    the BRIN index on capture time for those after it; at a day's volume it picks both over a
    scan. SQLite: the FTS5 trigram table, whatever the day."""
    await ingest.camera("cam-m")
    assert (await ingest.post([ingest.read("cam-m", "MID0000", vendor_read_id="m")])).json()[
        "stored"
    ] == 1
    if db_backend == "sqlite":
        async with ingest.db.sessionmaker() as session:
            query = select(READS.c.plate).where(await key_pattern(session, "*1000*"))
            sql = str(query.compile(session.bind, compile_kwargs={"literal_binds": True}))
            plan = " ".join(
                str(row[-1]) for row in await session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
            )
            assert "plate_read_trigram" in plan, plan
            assert (await session.execute(query)).scalars().all() == ["MID0000"]
        return
    async with ingest.db.sessionmaker() as session:
        # 20,000 more reads of the day, in capture order (as cameras send them), made from that
        # one with a new identity, time and plate each.
        await session.execute(
            text(
                "INSERT INTO plate_read SELECT (jsonb_populate_record(r, jsonb_build_object("
                "'read_id', md5('m' || g)::uuid, 'dedup_key', md5('d' || g), "
                "'captured_at', CAST(:day AS timestamptz) + :span * g / 20000.0 * interval '1 s', "
                "'plate', 'M' || lpad(((g * 7919) % 1000000)::text, 6, '0'), "
                "'plate_key', 'M' || lpad(((g * 7919) % 1000000)::text, 6, '0')))).* "
                "FROM plate_read r, generate_series(1, 20000) g WHERE r.plate = 'MID0000'"
            ),
            {"day": NOW.replace(hour=0, minute=0, second=0), "span": 18 * 3600 + 31 * 60},
        )
        await session.execute(text("ANALYZE plate_read"))
        await session.commit()
    await purge.index_search(ingest.db, now=NOW)
    async with ingest.db.sessionmaker() as session:
        condition = await key_pattern(session, "*4237*")
        query = select(READS.c.plate).where(
            condition, READS.c.captured_at >= NOW.replace(hour=0, minute=0)
        )
        sql = str(query.compile(session.bind, compile_kwargs={"literal_binds": True}))
        plan = "\n".join((await session.execute(text(f"EXPLAIN {sql}"))).scalars())
        assert "plate_read_p20250314_trgm_to_1830" in plan, plan
        # The partition's own copy of ix_plate_read_captured_at_brin.
        brin = "plate_read_p20250314_captured_at_idx"
        assert f"Bitmap Index Scan on {brin}" in plan, plan
        method = "SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE relname = :n"
        assert (await session.execute(text(method), {"n": brin})).scalar_one() == "brin"
        found = (await session.execute(query)).scalars().all()
        plates = (await session.execute(text("SELECT plate FROM plate_read"))).scalars().all()
    assert sorted(found) == sorted(p for p in plates if "4237" in p)
    assert found


async def _index_rows(ingest) -> tuple[int, int]:
    """(reads, entries of SQLite's trigram table that point at no read)."""
    async with ingest.db.sessionmaker() as session:
        reads = (await session.execute(text("SELECT count(*) FROM plate_read"))).scalar_one()
        orphans = (
            await session.execute(
                text(
                    "SELECT count(*) FROM plate_read_trigram "
                    "WHERE rowid NOT IN (SELECT rowid FROM plate_read)"
                )
            )
        ).scalar_one()
        indexed = (
            await session.execute(text("SELECT count(*) FROM plate_read_trigram"))
        ).scalar_one()
    assert indexed == reads
    return reads, orphans


@pytest.mark.policy("344.4(d)")
async def test_the_index_keeps_no_purged_read(ingest, app, db_backend):
    rt = app.state.runtime
    await ingest.camera("cam-g")
    old = [ingest.read("cam-g", f"GONE{i}", captured_at=NOW - timedelta(hours=i)) for i in range(3)]
    assert (await ingest.post(old)).json()["stored"] == 3
    # PostgreSQL: the day ends and gets its trigram index, which the purge must drop with it.
    await purge.index_search(ingest.db, now=NOW + timedelta(days=1))
    ingest.clock.advance(days=31)
    await ingest.post([ingest.read("cam-g", "GONE9", captured_at=ingest.clock.now)])
    if db_backend == "sqlite":
        assert await _index_rows(ingest) == (4, 0)
    else:
        async with ingest.db.sessionmaker() as session:
            assert (await _trigram_indexed(session))[f"plate_read_p{NOW:%Y%m%d}"]
    await purge.run_purge(ingest.db, rt)
    items = (await ingest.search(plate="GONE*")).json()["items"]
    assert [r["plate"] for r in items] == ["GONE9"]
    async with ingest.db.sessionmaker() as session:
        if db_backend == "sqlite":
            assert await _index_rows(ingest) == (1, 0)
            hits = await session.execute(
                text("SELECT count(*) FROM plate_read_trigram WHERE k GLOB '*60NE*'")
            )
            assert hits.scalar_one() == 1
        else:
            # The dropped day's index went with it.
            assert f"plate_read_p{NOW:%Y%m%d}" not in await _trigram_indexed(session)
            gone = await session.execute(
                text("SELECT count(*) FROM pg_class WHERE relname LIKE '%plate_read_p' || :d"),
                {"d": f"{NOW:%Y%m%d}"},
            )
            assert gone.scalar_one() == 0


async def test_the_index_follows_a_read_replaced_in_place(ingest, db_backend):
    """A later message about the same vehicle may correct the plate: the index follows."""
    await ingest.camera("cam-u")
    first = ingest.read("cam-u", "UPD1234", vendor_read_id="v-1", group_state="preview")
    assert (await ingest.post([first])).json()["stored"] == 1
    final = ingest.read("cam-u", "UPD7777", vendor_read_id="v-1", group_state="final")
    resp = await ingest.post([final])
    assert resp.status_code == 200, resp.text
    plates = [r["plate"] for r in (await ingest.search(plate="UPD*")).json()["items"]]
    if resp.json()["updated"] == 1:
        assert plates == ["UPD7777"]
        assert (await ingest.search(plate="*1234")).json()["total"] == 0
    if db_backend == "sqlite":
        assert (await _index_rows(ingest))[1] == 0


async def test_the_sqlite_index_can_be_rebuilt_from_the_reads(ingest, db_backend):
    await ingest.camera("cam-x")
    assert (await ingest.post([ingest.read("cam-x", "REB1234")])).json()["stored"] == 1
    async with ingest.db.sessionmaker() as session:
        if db_backend == "sqlite":
            await session.execute(text("DELETE FROM plate_read_trigram"))
            await session.commit()
        indexed = await rebuild_trigram_index(session)
        await session.commit()
    assert indexed == (1 if db_backend == "sqlite" else None)
    assert (await ingest.search(plate="*1234")).json()["total"] == 1


@pytest.mark.parametrize(
    ("now", "mark"),
    [
        ("2025-03-14T18:31:13+00:00", "2025-03-14T18:30:00+00:00"),
        ("2025-03-14T18:30:00+00:00", "2025-03-14T18:30:00+00:00"),
        ("2025-03-14T00:14:59+00:00", "2025-03-14T00:00:00+00:00"),
        ("2025-03-14T23:59:59+00:00", "2025-03-14T23:45:00+00:00"),
        # Another zone's time is the same instant, marked in UTC (the partitions' days).
        ("2025-03-14T20:31:13+02:00", "2025-03-14T18:30:00+00:00"),
    ],
)
def test_the_current_day_is_marked_each_quarter_hour(now, mark):
    at = partitions.current_mark(datetime.fromisoformat(now))
    assert at == datetime.fromisoformat(mark)
    name = partitions.until_index_name(at)
    assert name == f"plate_read_p{at:%Y%m%d}_trgm_to_{at:%H%M}"
    assert partitions.until_mark(name) == at


@pytest.mark.parametrize(
    "name",
    [
        "plate_read_p20250314_trgm",  # a closed day's, whole
        "plate_read_p20250314_trgm_to_2460",
        "plate_read_p20250231_trgm_to_1200",
        "plate_read_p20250314_trgm_to_12300",
        "other_p20250314_trgm_to_1230",
    ],
)
def test_only_a_current_day_index_name_gives_a_mark(name):
    assert partitions.until_mark(name) is None
