"""How many of Duckling's time examples does the reader read as Duckling does? A check on
phrases nobody tuned the reader to (peer_dates.py's suites are the contract's measure).

    .venv/bin/python bench/duckling_dates.py --duckling CHECKOUT [--failures LANG]
    BENCH_SRC=/tmp/old/src .venv/bin/python bench/duckling_dates.py --duckling CHECKOUT

Reads `Duckling/Time/{EN,DE,FR,ES,IT,PT,NL}/Corpus.hs` at the checkout's HEAD (a git
checkout of facebook/duckling): each `examples (datetime (Y, M, D, h, m, s) Grain) [...]` of
grain Day, Hour or Minute (holidays included; intervals, weeks, months and the rest left out),
its phrases read by `words.read` in process after a word of title (`Xyz <phrase>`), with
Duckling's clock: Tuesday 12 February 2013, 04:30 UTC. A phrase agrees when the title is
`Xyz` and, for a Day, the date is Duckling's; for an Hour or a Minute, the time of day is
(Duckling takes a bare time for its next occurrence and `3:00` for 15:00; the contract takes
today's and 03:00, so the day is not compared). Numbers in words, durations, past dates and
holidays of other calendars are among what the reader leaves, by the contract or for now.
"""

import argparse
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import benchlib  # noqa: F401  (first: BENCH_SRC measures another source tree)

from todo_api.words import read

NOW = datetime(2013, 2, 12, 4, 30, tzinfo=UTC)
LANGUAGES = ("EN", "DE", "FR", "ES", "IT", "PT", "NL")
_EXAMPLES = re.compile(
    r"examples \((?:datetime|datetimeHoliday) \((\d+), (\d+), (\d+), (\d+), (\d+), \d+\) "
    r"(Day|Hour|Minute)(?: \"[^\"]*\")?\s*\)\s*\[(.*?)\]",
    re.S,
)
_PHRASE = re.compile(r'"((?:[^"\\]|\\.)*)"')


def cases(checkout: Path, lang: str) -> list[tuple[str, str, tuple[int, ...]]]:
    source = subprocess.run(
        ["git", "-C", str(checkout), "show", f"HEAD:Duckling/Time/{lang}/Corpus.hs"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: list[tuple[str, str, tuple[int, ...]]] = []
    for match in _EXAMPLES.finditer(source):
        year, month, day, hour, minute = (int(match[n]) for n in range(1, 6))
        for phrase in _PHRASE.findall(match[7]):
            found.append((phrase, match[6], (year, month, day, hour, minute)))
    return found


def agrees(lang: str, phrase: str, grain: str, want: tuple[int, ...]) -> bool:
    reading = read(f"Xyz {phrase}", NOW, "UTC", lang.lower())
    if reading.title != "Xyz":
        return False
    if grain == "Day":
        got = reading.due_date or (reading.due_at.date() if reading.due_at else None)
        return got == date(*want[:3])
    return reading.due_at is not None and (reading.due_at.hour, reading.due_at.minute) == want[3:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duckling", type=Path, required=True, help="a git checkout")
    parser.add_argument("--failures", choices=LANGUAGES, help="list one language's misses")
    args = parser.parse_args()
    print("| language | examples | agree | % |")
    print("| --- | ---: | ---: | ---: |")
    for lang in LANGUAGES:
        results = [(case, agrees(lang, *case)) for case in cases(args.duckling, lang)]
        agreed = sum(ok for _, ok in results)
        print(f"| {lang.lower()} | {len(results)} | {agreed} | {100 * agreed / len(results):.0f} |")
        if args.failures == lang:
            for (phrase, grain, want), ok in results:
                if not ok:
                    print(f"  {phrase!r} ({grain} {want})", file=sys.stderr)


if __name__ == "__main__":
    main()
