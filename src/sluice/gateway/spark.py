"""The Spark engine: resources the operator assigns to Spark are answered by a Spark session (``local[2]``
here, any master the operator sets), one per process, started on first use (FACTS.md: about 7 s).

The version's Parquet file becomes a temporary view named after the version; SQL on files
(``parquet.`/path```) is switched off, so the governed SQL can read nothing but those views; the UI and
any listening beyond 127.0.0.1 are off. A query past its time limit has its job group cancelled; the
driver's memory (``SLUICE_SPARK_DRIVER_MEMORY``) is the memory cap, and rows past the cap are never fetched.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from sluice.errors import Exhausted, Invalid, SluiceError
from sluice.gateway.engines import Limits, Watchdog
from sluice.settings import Settings

_lock = threading.Lock()
_session: Any = None
_views: set[str] = set()


def spark_session(settings: Settings) -> Any:
    """The process's Spark session, started once."""
    global _session  # noqa: PLW0603 - one JVM per process, by design
    with _lock:
        if _session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError:
                raise Invalid(
                    "this resource is served by Spark, which is not installed here: pip install 'sluice[spark]'"
                ) from None
            _session = (
                SparkSession.builder.master(settings.spark_master)
                .appName("sluice-gateway")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.memory", settings.spark_driver_memory)
                .config("spark.sql.runSQLOnFiles", "false")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                .config("spark.sql.shuffle.partitions", "4")
                .getOrCreate()
            )
            _session.sparkContext.setLogLevel("ERROR")
        return _session


def stop() -> None:
    """Stop the session (tests, shutdown)."""
    global _session  # noqa: PLW0603
    with _lock:
        if _session is not None:
            _session.stop()
            _session = None
            _views.clear()


class SparkEngine:
    def __init__(self, settings: Settings, files: dict[str, str]) -> None:
        self.settings = settings
        self.files = files

    def batches(self, sql: str, limits: Limits) -> Iterator[pa.RecordBatch]:
        spark = spark_session(self.settings)
        for view, path in self.files.items():
            if view not in _views:
                spark.read.parquet(path).createOrReplaceTempView(view)
                _views.add(view)
        group = f"sluice-{uuid.uuid4().hex[:12]}"
        context = spark.sparkContext
        context.setJobGroup(group, "governed query", interruptOnCancel=True)
        watchdog = Watchdog(limits.seconds, lambda: context.cancelJobGroup(group))
        watchdog.start()
        try:
            table = spark.sql(sql).limit(int(limits.row_cap) + 1).toArrow()
        except SluiceError:
            raise
        except Exception as exc:  # py4j and Spark's analysis errors
            if watchdog.fired:
                raise Exhausted(
                    f"the query ran past the limit of {limits.seconds:g} s and was stopped; narrow it"
                ) from None
            raise Invalid(f"the query failed in Spark: {_first_line(exc)}") from None
        finally:
            watchdog.stop()
            context.setLocalProperty("spark.jobGroup.id", None)
        batches = table.to_batches()
        yield from batches or [pa.RecordBatch.from_pylist([], schema=table.schema)]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
