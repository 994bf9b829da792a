"""How the engine reads approved observations (`reads`): on PostgreSQL an indicator per COPY row, decoded
with numpy; in a full run, by a thread of its own while the methods run. What the engine relies on: the
frame holds exactly the stored rows, a failed read fails the run, and the thread never outlives it."""

import threading
import time

import pandas as pd
import pytest
from django.db import DatabaseError, connection, transaction

from monitoring.alerts.engine import _observation_frame
from monitoring.alerts.models import Alert, Score, ScoreSeries, SeriesState
from monitoring.alerts.reads import ObservationReader
from monitoring.alerts.services import alerts_compute
from monitoring.models import Observation
from tests.alerts.conftest import write_monthly
from tests.alerts.test_engine import AS_OF, alert_table, bread_in_two_markets
from tests.conftest import require_service
from tests.factories import MarketFactory, ObservationFactory

COLUMNS = ["indicator_id", "country_id", "region_id", "market_id", "place_key", "period", "period_start", "value"]


def _stored(queryset) -> pd.DataFrame:
    """The rows as the ORM reads them, in one order."""
    frame = pd.DataFrame.from_records(list(queryset.values_list(*COLUMNS, "flag")), columns=[*COLUMNS, "flag"])
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    return frame.sort_values(["indicator_id", "country_id", "place_key", "period"]).reset_index(drop=True)


@pytest.mark.django_db
def test_the_observation_frame_holds_exactly_the_stored_rows(reference):
    # given approved values of two indicators: national ones (one published as a bound), a market's, a
    # region's, and one submitted value that must not be read
    market = MarketFactory(country=reference.kg, code="osh-bazaar", name="Osh bazaar")
    region = reference.kg.regions.order_by("code").first()
    for period, value, flag in (("2019", 8.5, ""), ("2020", 2.5, "<")):
        ObservationFactory(indicator=reference.indicators["POU"], period=period, value=value, flag=flag)
    write_monthly(
        indicator=reference.indicators["PRICE_BREAD"],
        country=reference.kg,
        market=market,
        values=[31.5, 32.25],
        start_year=2020,
    )
    ObservationFactory(indicator=reference.indicators["PRICE_BREAD"], region=region, period="2020-01", value=30)
    ObservationFactory(
        indicator=reference.indicators["POU"], period="2021", value=9, status=Observation.Status.SUBMITTED
    )

    # when the engine reads the approved ones
    frame = _observation_frame(Observation.objects.approved())

    # then it has every approved row, each field as stored (no region or market: missing), and no other row
    ordered = frame.sort_values(["indicator_id", "country_id", "place_key", "period"]).reset_index(drop=True)
    expected = _stored(Observation.objects.approved())
    assert len(ordered) == 5
    pd.testing.assert_frame_equal(ordered[expected.columns], expected, check_dtype=False)
    assert ordered.loc[ordered["period"] == "2020", "flag"].tolist() == ["<"]
    assert ordered["period_start"].dtype.kind == "M" and ordered["value"].dtype.kind == "f"


@pytest.mark.django_db
def test_a_text_holding_the_separator_is_refused_not_misread(reference):
    require_service(connection.vendor == "postgresql", "the COPY reader is PostgreSQL's (set DATABASE_URL)")
    # given a stored place key holding the character the reader joins texts with
    ObservationFactory(indicator=reference.indicators["POU"], period="2020", value=3)
    Observation.objects.update(place_key="market:a\x1fb")

    # when the engine reads it, then it refuses, naming the column
    with pytest.raises(ValueError, match="place_key"):
        _observation_frame(Observation.objects.approved())


@pytest.mark.django_db(transaction=True)
class TestTheReadingThread:
    """Only PostgreSQL runs the thread (the engine reads inline elsewhere)."""

    @pytest.fixture(autouse=True)
    def _postgresql(self):
        require_service(connection.vendor == "postgresql", "the reading thread is PostgreSQL's (set DATABASE_URL)")

    def test_a_full_run_read_by_the_thread_gives_what_a_run_reading_inline_gives(self, reference, default_rules):
        # given prices in two markets, committed (the thread reads on a connection of its own)
        bread_in_two_markets(reference)
        # when a full run reads in the thread (it is its own transaction), then again reading inline
        threaded = alerts_compute(as_of=AS_OF, notify=False)
        alerts, scores = alert_table(), sorted(Score.objects.values_list("rule_id", "place_key", "period", "score"))
        for model in (Alert, ScoreSeries, SeriesState):
            model.objects.all().delete()
        with transaction.atomic():  # a caller's transaction: the run reads inline, on the caller's connection
            inline = alerts_compute(as_of=AS_OF, notify=False)

        # then both read the same observations and give the same alerts and scores
        assert threaded.observations == inline.observations == 240
        assert alerts and alert_table() == alerts
        assert sorted(Score.objects.values_list("rule_id", "place_key", "period", "score")) == scores

    def test_a_failed_read_is_raised_when_the_engine_asks_for_that_indicator(self):
        # given a reader whose first indicator has values, the second none, and the third fails to be read
        def read(ids):
            if ids == [3]:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT * FROM no_such_table")
            rows = 1 if ids == [1] else 0
            return pd.DataFrame({"indicator_id": ids * rows, "country_id": [1] * rows, "place_key": [""] * rows,
                                 "region_id": [None] * rows, "market_id": [None] * rows})  # fmt: skip

        with ObservationReader(read, [1, 2, 3, 4], threaded=True) as observations:
            # when the engine asks for each, then the ones read are there (the second has no values), and
            # the failure comes with the third and the one after it
            assert observations.get(1)["indicator_id"].tolist() == [1]
            assert observations.get(2) is None
            with pytest.raises(DatabaseError, match="no_such_table"):
                observations.get(3)
            with pytest.raises(DatabaseError, match="no_such_table"):
                observations.get(4)

    def test_a_read_waiting_on_a_lock_is_cancelled_when_the_engine_fails(self, reference):
        # given the observations locked by another transaction (a schema change, say), so that a read waits
        ObservationFactory(indicator=reference.indicators["POU"], period="2020", value=3)
        pou = reference.indicators["POU"].pk

        def read(ids):
            return _observation_frame(Observation.objects.approved().filter(indicator_id__in=ids))

        started = time.perf_counter()
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE monitoring_observation IN ACCESS EXCLUSIVE MODE")
            # when the engine fails while the thread's read waits on the lock
            with pytest.raises(RuntimeError), ObservationReader(read, [pou], threaded=True):
                time.sleep(0.3)
                raise RuntimeError("the engine failed")
            # then the run ends at once (the read was cancelled), with the thread stopped, the lock still held
            assert time.perf_counter() - started < 5
            assert not any(thread.name == "alert-engine-reads" for thread in threading.enumerate())

    def test_the_thread_stops_and_closes_its_connection_when_the_engine_fails(self):
        # given a reader of many indicators, each slow to read
        reads = []

        def read(ids):
            reads.append(connection.connection.info.backend_pid)  # the thread's own connection
            time.sleep(0.05)
            return pd.DataFrame(columns=["indicator_id", "country_id", "place_key", "region_id", "market_id"])

        reader = ObservationReader(read, list(range(1, 101)), threaded=True)
        # when the engine fails while the thread reads
        with pytest.raises(RuntimeError), reader:
            time.sleep(0.12)
            raise RuntimeError("the engine failed")

        # then the thread has stopped, soon after the failure, and its connection is closed, on the server
        # too (a backend leaves the server's list shortly after its client closes)
        assert not any(thread.name == "alert-engine-reads" for thread in threading.enumerate())
        assert len(reads) < 10
        assert reader._reading_connection.closed
        assert len(set(reads)) == 1 and _backend_gone(reads[0])


def _backend_gone(pid: int, seconds: float = 5.0) -> bool:
    """Whether the server's backend `pid` ends within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone()[0] == 0:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def test_an_empty_list_of_texts_reads_back_empty():
    # given a list of texts stored empty on PostgreSQL (one text, nothing in it) and on SQLite (JSON)
    field = ScoreSeries._meta.get_field("periods")

    # when the model reads it, then it is an empty list either way
    assert field.from_db_value("", None, connection) == []
    assert field.from_db_value("[]", None, connection) == []
    assert field.from_db_value("\x1f2023-01\x1f\x1e", None, connection) == ["2023-01", None]


def test_indicators_are_read_once_in_the_order_asked():
    # given indicators asked for twice and in an order of their own
    reads = []

    def read(ids):
        reads.append(list(ids))
        return pd.DataFrame(
            {
                "indicator_id": [pk for pk in ids for _ in range(2)],
                "country_id": 1,
                "place_key": ["", "market:a"] * len(ids),
                "region_id": None,
                "market_id": [None, 7] * len(ids),
            }
        )

    # when the engine reads them inline (one read for all)
    with ObservationReader(read, [3, 1, 3, 2], threaded=False) as observations:
        # then each indicator is read once, its rows kept apart, and its places known
        assert reads == [[3, 1, 2]]
        assert observations.count == 6
        assert 4 not in observations and observations.get(4) is None
        assert observations[1]["indicator_id"].tolist() == [1, 1]
        assert observations.places([1, 2])["place_key"].tolist() == ["", "market:a"]
