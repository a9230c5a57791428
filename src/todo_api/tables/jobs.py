"""The background jobs' schedule (see todo_api.kit.jobs)."""

from datetime import datetime

from sqlalchemy import String, Table
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime
from todo_api.tables.versioned import count_field

JOB_NAME_LENGTH = 100
# The `claimed_by` column of any table todo_api.kit.claims claims rows of: room for a host
# name, a process id and the claim's own random part.
CLAIMANT_LENGTH = 200


class JobRun(SQLModel, table=True):
    """One row per background job: who runs it now (a claim, see todo_api.kit.claims, whose
    lease is the job's interval, so that it runs once per interval across every worker and
    instance), and how its runs went."""

    __tablename__ = "job_runs"

    name: str = Field(sa_type=String(JOB_NAME_LENGTH), primary_key=True)
    claimed_by: str | None = Field(default=None, sa_type=String(CLAIMANT_LENGTH))
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failures: int = count_field()


job_runs: Table = JobRun.__table__  # type: ignore[attr-defined]
