"""Helpers for the kit's tests: the job figures /metrics shows, and a table to claim rows of."""

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table

from todo_api.db import UTCDateTime
from todo_api.tables.jobs import CLAIMANT_LENGTH

LAST_SUCCESS = "todo_job_last_success_timestamp_seconds"
FAILURES = "todo_job_failures_total"


def job_figures(page: str) -> dict[str, dict[str, float]]:
    """{series name: {job: value}} of the job series on a /metrics page."""
    figures: dict[str, dict[str, float]] = {LAST_SUCCESS: {}, FAILURES: {}}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name in figures:
                figures[sample.name][sample.labels["job"]] = sample.value
    return figures


def work_table(name: str) -> Table:
    """A queue of the tests' own: rows with the claim columns (todo_api.kit.claims), made and
    dropped by the test that uses it."""
    return Table(
        name,
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("ready", Boolean, nullable=False),
        # Whose row it is, for claims that take each one's rows in turn (`per`).
        Column("owner", Integer, nullable=True),
        Column("outcome", String(50), nullable=True),
        Column("claimed_by", String(CLAIMANT_LENGTH), nullable=True),
        Column("claimed_until", UTCDateTime(), nullable=True),
    )
