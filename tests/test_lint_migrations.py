"""`make lint-migrations` (scripts/lint_migrations.py): squawk passes a migration written by the
rules of migrations/online.py (a nullable column, a new table and its indexes) and fails one that
is not (an index built inside the transaction, locking writes for the whole build)."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import IN_CI
from todo_api.migrations import head_revision

ROOT = Path(__file__).resolve().parent.parent
SQUAWK = ROOT / ".tools" / "node_modules" / ".bin" / "squawk"

HEADER = """
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def downgrade() -> None:
    pass
"""

A_COLUMN = """
def upgrade() -> None:
    op.add_column("tasks", sa.Column("recurrence_parent_id", sa.Uuid(), nullable=True))
"""

A_TABLE = """
def upgrade() -> None:
    op.create_table(
        "access_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("uses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_access_tokens_user_id", "access_tokens", ["user_id"])
"""

AN_INDEX_IN_THE_TRANSACTION = """
def upgrade() -> None:
    op.create_index("ix_tasks_user_id_title", "tasks", ["user_id", "title"])
"""


@pytest.fixture(scope="module", autouse=True)
def squawk() -> None:
    if SQUAWK.exists():
        return
    if IN_CI:
        pytest.fail(f"squawk is required in CI (make lint-migrations installs it): {SQUAWK}")
    pytest.skip("squawk is not installed: make lint-migrations")


def _lint(versions: Path, *migrations: str) -> subprocess.CompletedProcess[str]:
    down = head_revision()
    for number, body in enumerate(migrations, start=9101):
        header = HEADER.format(revision=number, down=down)
        (versions / f"{number}_step.py").write_text(textwrap.dedent(header + body))
        down = str(number)
    script = ROOT / "scripts" / "lint_migrations.py"
    return subprocess.run(
        [sys.executable, str(script), "--versions", str(versions)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_nullable_column_and_a_new_table_pass(tmp_path: Path) -> None:
    result = _lint(tmp_path, A_COLUMN, A_TABLE)
    assert result.returncode == 0, result.stdout + result.stderr
    # The shipped migrations after 0021 are checked too, before these.
    assert re.search(r"migration\(s\) checked \((\d+, )*9101, 9102\), 0 finding", result.stdout)


def test_an_index_built_inside_the_transaction_fails(tmp_path: Path) -> None:
    result = _lint(tmp_path, A_COLUMN, AN_INDEX_IN_THE_TRANSACTION)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "9102 (" in result.stdout
    assert "require-concurrent-index-creation" in result.stdout
    assert "CREATE INDEX ix_tasks_user_id_title ON tasks (user_id, title)" in result.stdout
    assert re.search(r"migration\(s\) checked \((\d+, )*9101, 9102\), 1 finding", result.stdout)
