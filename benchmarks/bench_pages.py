"""Page benchmark: requests per second and latency of the overview and a country page with 1,000,000
observations in PostgreSQL, under gunicorn (4 workers) and 32 concurrent clients, beside a trivial Django
view (`/healthz`, one `SELECT 1`) as the ceiling. Targets: p95 under 150 ms, and at least a third of the
trivial view's throughput.

    make bench BENCH_ARGS="pages"                # 1M observations
    make bench BENCH_ARGS="pages --rows 200000"  # smaller, for a quick look

The data lives in its own database, `<DATABASE_URL's name>_bench_pages` on the same PostgreSQL server (or
`foodsec_bench_pages` on the local socket when DATABASE_URL is SQLite), created and filled on the first
run (PostgreSQL COPY; about a minute) and reused afterwards. It holds national monthly series for every
price, CPI and the exchange rate since 2000, annual indicators, and market price series for the rest,
plus scores, series states and alerts, so every selector meets realistic table sizes.

The load generator is `wrk` when installed (`apt-get install wrk`), with a Lua hook that prints the 95th
percentile; otherwise a Python client with 32 threads and keep-alive connections. Each page is warmed
first (each gunicorn worker fills its cache once, keyed by the data version), then measured for
`DURATION` seconds. The cold figure (first request after a data change) is printed separately.
"""

import http.client
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
from django.conf import settings

DEFAULT_ROWS = 1_000_000
WORKERS = 4
CLIENTS = 32
DURATION = int(os.environ.get("BENCH_PAGES_SECONDS", "10"))
PAGES = [("trivial view (/healthz)", "/healthz"), ("overview", "/"), ("country page", "/country/KG/")]
FIRST_YEAR, LAST_YEAR = 2000, 2025
BASE_DIR = Path(settings.BASE_DIR)

WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("P50_MS %.3f\\nP95_MS %.3f\\nP99_MS %.3f\\nERRORS %d\\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
"""


def _bench_database_url() -> str | None:
    configured = os.environ.get("BENCH_PAGES_DATABASE_URL")
    if configured:
        return configured
    current = os.environ.get("DATABASE_URL", "")
    if current.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(current)
        name = parts.path.lstrip("/") or "foodsec"
        return urlunsplit(parts._replace(path=f"/{name}_bench_pages"))
    if Path("/var/run/postgresql").exists():
        return "postgres:///foodsec_bench_pages?host=/var/run/postgresql"
    return None


def _ensure_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url, dbname="postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def _environment(url: str) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(
        DATABASE_URL=url,
        DJANGO_DEBUG="false",  # production behaviour: no query log, templates cached
        DJANGO_SECURE_SSL_REDIRECT="false",  # plain HTTP on the loopback
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",  # no collectstatic needed
        DJANGO_SETTINGS_MODULE="config.settings",
        CELERY_BROKER_URL="",
        PYTHONPATH=str(BASE_DIR),
    )
    return environment


def run(args) -> None:
    rows = args.rows or DEFAULT_ROWS
    url = _bench_database_url()
    if url is None:
        print("SKIPPED: no PostgreSQL (set BENCH_PAGES_DATABASE_URL or DATABASE_URL to a postgres:// URL).")
        return
    try:
        _ensure_database(url)
    except Exception as error:
        print(f"SKIPPED: PostgreSQL not reachable at {url}: {error}")
        return
    environment = _environment(url)
    print(f"database: {url}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=environment, check=True
    )
    subprocess.run(
        [sys.executable, "-c", f"import benchmarks.bench_pages as b; b.populate({rows})"],
        cwd=BASE_DIR,
        env=environment,
        check=True,
    )
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ],
        cwd=BASE_DIR,
        env=environment,
        start_new_session=True,
    )
    try:
        _wait_until_up(port)
        cold = {path: _cold_ms(port, path) for _, path in PAGES[1:]}
        results = []
        for label, path in PAGES:
            _warm(port, path)
            figures = _measure_wrk(port, path) if shutil.which("wrk") else _measure_python(port, path)
            results.append((label, path, figures))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    _print(rows, results, cold)


# --- data -------------------------------------------------------------------------------------------


def populate(rows: int) -> None:
    """Fill the benchmark database once: `rows` approved observations, scores, series states, alerts."""
    import django

    django.setup()
    from django.db import connection, transaction

    from countries.services import reference_countries_load
    from monitoring.catalogue import catalogue_load
    from monitoring.models import Observation

    reference_countries_load()
    catalogue_load()
    present = Observation.objects.count()
    if present == rows:
        print(f"reusing {present:,} observations")
        _time_cold_builds()
        return
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                # Events and series name their alert and rule without a database constraint: listed, not
                # reached by CASCADE.
                "TRUNCATE monitoring_observation, alerts_alert, alerts_alertevent, alerts_scoreseries, "
                "alerts_seriesstate, monitoring_historicalobservation RESTART IDENTITY CASCADE"
            )
        _generate(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"generated {Observation.objects.count():,} observations in {time.perf_counter() - started:.0f} s")
    _time_cold_builds()


def _months() -> list[tuple[str, date]]:
    return [
        (f"{year}-{month:02d}", date(year, month, 1))
        for year in range(FIRST_YEAR, LAST_YEAR + 1)
        for month in range(1, 13)
    ]


def _generate(rows: int) -> None:
    from django.utils import timezone

    from countries.models import Country, Market
    from monitoring.alerts.engine import scores_store
    from monitoring.alerts.models import Alert, AlertRule, Method, SeriesState
    from monitoring.models import Indicator, Observation

    now = timezone.now()
    random.seed(2026)
    countries = list(Country.objects.order_by("iso2"))
    monthly = list(Indicator.objects.entered().filter(frequency="monthly").order_by("code"))
    prices = [indicator for indicator in monthly if indicator.category == Indicator.Category.PRICE]
    annual = list(Indicator.objects.entered().filter(frequency="annual").order_by("code"))
    months = _months()
    years = [(str(year), date(year, 1, 1)) for year in range(FIRST_YEAR, LAST_YEAR + 1)]

    def value(indicator, country_index: int, step: int) -> float:
        low = indicator.valid_min if indicator.valid_min is not None else 0.0
        high = indicator.valid_max if indicator.valid_max is not None else 1000.0
        middle = min(high, max(low, 10.0 * (country_index + 1)))
        return round(min(high, max(low, middle * (1 + 0.003 * step) * random.uniform(0.95, 1.05))), 3)

    observation_rows = []
    for country_index, country in enumerate(countries):
        for indicator in monthly:
            for step, (period, start) in enumerate(months):
                observation_rows.append(
                    (indicator.pk, country.pk, None, "", period, start, value(indicator, country_index, step))
                )
        for indicator in annual:
            for step, (period, start) in enumerate(years):
                observation_rows.append(
                    (indicator.pk, country.pk, None, "", period, start, value(indicator, country_index, step))
                )
    per_market = len(prices) * len(months)
    markets_needed = max(0, -(-(rows - len(observation_rows)) // per_market))
    markets = []
    for number in range(markets_needed):
        country = countries[number % len(countries)]
        market, _ = Market.objects.get_or_create(
            country=country, code=f"bench-{number:04d}", defaults={"name": f"Bench market {number}"}
        )
        markets.append(market)
    for market in markets:
        country_index = countries.index(market.country)
        for indicator in prices:
            for step, (period, start) in enumerate(months):
                if len(observation_rows) >= rows:
                    break
                observation_rows.append(
                    (
                        indicator.pk,
                        market.country_id,
                        market.pk,
                        f"market:{market.code}",
                        period,
                        start,
                        value(indicator, country_index, step),
                    )
                )
    observation_rows = observation_rows[:rows]
    _copy(
        Observation,
        ["indicator_id", "country_id", "market_id", "place_key", "period", "period_start", "value"],
        observation_rows,
        {"status": Observation.Status.APPROVED, "created_at": now, "updated_at": now},
    )

    rule = AlertRule.objects.filter(method=Method.ALPS).first() or AlertRule.objects.create(
        name="bench ALPS", method=Method.ALPS
    )
    last_two_years = months[-24:]
    score_rows, state_rows, alert_rows = [], [], []
    series = {(row[0], row[1], row[3]) for row in observation_rows if row[0] in {p.pk for p in prices}}
    pillar_of = {indicator.pk: indicator.pillar for indicator in monthly}
    market_of = {f"market:{market.code}": market.pk for market in markets}
    for indicator_id, country_id, place_key in sorted(series):
        for period, start in last_two_years:
            level = random.choices([0, 1, 2, 3], weights=[80, 12, 6, 2])[0]
            score_rows.append(
                (
                    indicator_id,
                    country_id,
                    market_of.get(place_key),
                    place_key,
                    period,
                    start,
                    round(random.gauss(0, 1), 3),
                    level,
                )
            )
            if level:
                alert_rows.append(
                    Alert(
                        rule=rule,
                        method=Method.ALPS,
                        indicator_id=indicator_id,
                        pillar=pillar_of[indicator_id],
                        country_id=country_id,
                        market_id=market_of.get(place_key),
                        place_key=place_key,
                        period=period,
                        period_start=start,
                        score=1.0 + level / 2,
                        level=level,
                        method_class=["", "stress", "alert", "crisis"][level],
                        status=random.choice(["open", "open", "acknowledged", "resolved"]),
                        message_params={"subject_en": "price", "place_en": place_key or "national"},
                    )
                )
        state_rows.append(
            SeriesState(
                rule=rule,
                indicator_id=indicator_id,
                pillar=pillar_of[indicator_id],
                country_id=country_id,
                place_key=place_key,
                period=last_two_years[-1][0],
                period_start=last_two_years[-1][1],
                level=score_rows[-1][-1],
            )
        )
    scores = pd.DataFrame(
        score_rows,
        columns=["indicator_id", "country_id", "market_id", "place_key", "period", "period_start", "score", "level"],
    )
    scores_store(scores.assign(rule_id=rule.pk, method=Method.ALPS))
    SeriesState.objects.bulk_create(state_rows, batch_size=5000)
    Alert.objects.bulk_create(alert_rows, batch_size=5000)
    print(f"{len(markets)} markets, {len(score_rows):,} scores, {len(state_rows):,} series, {len(alert_rows):,} alerts")


def _copy(model, columns: list[str], rows: list[tuple], constants: dict) -> None:
    """PostgreSQL COPY of `rows` into the model's table; every other NOT NULL column gets its default."""
    from django.db import connection

    fixed = dict(constants)
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in columns or field.column in fixed or field.null:
            continue
        default = field.get_default()
        fixed[field.column] = "" if default is None else default
    names = columns + list(fixed)
    tail = tuple(_copy_value(value) for value in fixed.values())
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {model._meta.db_table} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row + tail)


def _copy_value(value):
    import json

    return json.dumps(value) if isinstance(value, dict | list) else value


def _time_cold_builds() -> None:
    """The first request after a data change builds the aggregates (then they are cached)."""
    from countries.models import Country
    from monitoring.dashboards import selectors

    kyrgyzstan = Country.objects.get(iso2="KG")
    for label, build in (
        ("overview", selectors._build_overview),
        ("country page", lambda: selectors._build_country_page(country=kyrgyzstan, currency="local")),
    ):
        started = time.perf_counter()
        build()
        print(
            f"cold build of the {label} aggregates (cache miss, in process): "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )


# --- load -------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, timeout: float = 60) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wait_until_up(port: int) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if _get(port, "/healthz", timeout=5)[0] == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not start within 60 s")


def _cold_ms(port: int, path: str) -> float:
    started = time.perf_counter()
    status, _ = _get(port, path)
    assert status == 200, (path, status)
    return (time.perf_counter() - started) * 1000


def _warm(port: int, path: str) -> None:
    # Enough requests that every worker has built and cached the page's aggregates once.
    threads = [threading.Thread(target=_get, args=(port, path)) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _measure_wrk(port: int, path: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        output = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{CLIENTS}",
                f"-d{DURATION}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    figures = {"tool": "wrk"}
    for line in output.splitlines():
        if line.startswith("Requests/sec:"):
            figures["rps"] = float(line.split()[1])
        elif line.split(" ")[0] in ("P50_MS", "P95_MS", "P99_MS", "ERRORS"):
            key, number = line.split()
            figures[key.lower()] = float(number)
        elif "Non-2xx" in line:
            figures["non_2xx"] = float(line.split()[-1])
    return figures


def _measure_python(port: int, path: str) -> dict[str, float]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + DURATION

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def percentile(share: float) -> float:
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))] if latencies else float("nan")

    return {
        "tool": "python",
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(0.5),
        "p95_ms": percentile(0.95),
        "p99_ms": percentile(0.99),
        "errors": errors[0],
    }


def _print(rows: int, results: list, cold: dict[str, float]) -> None:
    ceiling = results[0][2]["rps"]
    print(
        f"\n{rows:,} observations, gunicorn {WORKERS} workers, {CLIENTS} concurrent clients, {DURATION} s per page, "
        f"load by {results[0][2]['tool']}"
    )
    print(f"{'page':<26}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'vs trivial':>12}")
    for label, _path, figures in results:
        print(
            f"{label:<26}{figures['rps']:>9.1f}{figures['p50_ms']:>9.1f}{figures['p95_ms']:>9.1f}"
            f"{figures['p99_ms']:>9.1f}{int(figures.get('errors', 0) + figures.get('non_2xx', 0)):>8}"
            f"{figures['rps'] / ceiling:>11.0%}"
        )
    for label, path, figures in results[1:]:
        verdict = "meets" if figures["p95_ms"] < 150 and figures["rps"] >= ceiling / 3 else "MISSES"
        print(f"{label}: {verdict} the target (p95 < 150 ms and >= 1/3 of the trivial view's throughput)")
        print(f"  first request after a data change (cache miss): {cold[path]:.0f} ms")
