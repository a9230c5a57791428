"""Check the SQL of every migration after the last one written before the online rules
(migrations/online.py) with squawk: the statements Alembic runs for each revision, written in
offline (`--sql`) mode, one file per revision, the session's timeouts included.

    python scripts/lint_migrations.py [--versions DIR] [--after REVISION]

Findings listed in scripts/squawk-allow.toml (revision, rule, why) are shown and allowed; any
other one fails (exit status 1). `make lint-migrations` installs squawk into .tools/ first.
"""

import argparse
import io
import json
import subprocess
import sys
import tomllib
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from todo_api.migrations import alembic_config, online

ROOT = Path(__file__).resolve().parent.parent
SQUAWK = ROOT / ".tools" / "node_modules" / ".bin" / "squawk"
ALLOWED = Path(__file__).resolve().parent / "squawk-allow.toml"


def migration_sql(versions: Path | None, after: str, into: Path) -> dict[Path, str]:
    """Each revision after `after` as a file of SQL in `into`: {file: revision}."""
    config = alembic_config(versions)
    script = ScriptDirectory.from_config(config)
    files = {}
    for revision in reversed(list(script.iterate_revisions("heads", after))):
        if not isinstance(revision.down_revision, str):
            continue  # a merge point: no statements of its own
        buffer = io.StringIO()
        config.output_buffer = buffer
        command.upgrade(config, f"{revision.down_revision}:{revision.revision}", sql=True)
        path = into / f"{revision.revision}.sql"
        path.write_text(buffer.getvalue())
        files[path] = revision.revision
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=Path, help="a folder of migrations beside the package's")
    parser.add_argument(
        "--after", default=online.LAST_BEFORE_RULES, help="the last one not checked"
    )
    args = parser.parse_args()
    if not SQUAWK.exists():
        print(f"squawk is not installed at {SQUAWK}: run `make lint-migrations`", file=sys.stderr)
        return 2
    into = ROOT / ".tools" / "migrations-sql"
    into.mkdir(parents=True, exist_ok=True)
    for old in into.glob("*.sql"):
        old.unlink()
    files = migration_sql(args.versions, args.after, into)
    if not files:
        print(f"lint-migrations: no migration after {args.after}")
        return 0
    config = ["--config", str(ROOT / ".squawk.toml")]
    result = subprocess.run(  # noqa: S603 (squawk from .tools, on files written here)
        [str(SQUAWK), *config, "--reporter", "json", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1) or not result.stdout.strip():
        print(f"squawk failed: {result.stderr or result.stdout}", file=sys.stderr)
        return 2
    allowed = tomllib.loads(ALLOWED.read_text()).get("allow", [])
    reasons = {(entry["revision"], entry["rule"]): entry["why"] for entry in allowed}
    failures = 0
    for finding in json.loads(result.stdout):
        revision = files[Path(finding["file"])]
        lines = Path(finding["file"]).read_text().splitlines()
        statement = lines[finding["line"]].strip()  # squawk counts lines from 0
        where = f"{revision} ({finding['file']}:{finding['line'] + 1}) {finding['rule_name']}"
        if why := reasons.get((revision, finding["rule_name"])):
            print(f"allowed: {where}: {why}")
            continue
        failures += 1
        print(f"{where}: {finding['message']}\n    {statement}\n    {finding.get('help') or ''}")
    checked = ", ".join(sorted(files.values()))
    print(f"lint-migrations: {len(files)} migration(s) checked ({checked}), {failures} finding(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
