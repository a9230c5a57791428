"""Do we read dates as other readers do? chrono-node's and Vikunja's tests, phrase by phrase.

    .venv/bin/python bench/peer_dates.py extract --chrono CHECKOUT --vikunja CHECKOUT
    .venv/bin/python bench/peer_dates.py run [--failures]     # agreement per language

`extract` reads chrono-node's tests (`test/{en,de,fr,es,it,pt,nl}/*.test.ts`, a git checkout:
the files of its HEAD) and writes `bench/peer_dates.json`: each case a fact, not code (the
language, the text, the date phrase chrono finds in it, its reference "now", and the date and
perhaps the time it gives), and Vikunja's (`extract_vikunja`: the date cases its quick add
tests write as facts, in English). Kept of chrono's are the cases the contract's "Words people
write" covers: one date (no range), a reference date, a year from 1900 to 2100, not in the
past (unless the phrase writes its year), no seconds, time zones, hours or minutes counted
(`in 5 minutes`), nor `now`.

`run` posts each text through POST /api/tasks/quick (the service's app in this process, over
httpx, on a fresh SQLite file; the user's zone UTC), with the reader's clock (words/clock.py)
at the case's "now", and counts a case as agreeing when the task's due date (and time, when
the suite gives one) is the suite's and its title is the text without the phrase (a word such as
`le` or `om` before the date, which chrono leaves in the text and the reader takes with the
date, may leave the title too). Where the contract rules otherwise, it stands: `next week` is
its Monday, `next month` its 1st, `next year` its 1 January, a time alone is today's, the
parts of the day are morning 09:00, noon 12:00, afternoon 15:00, evening and tonight 19:00, a
date without a year is the next such date, and English writes no date with one dot.
"""

import argparse
import asyncio
import importlib
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CASES = HERE / "peer_dates.json"
LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl")

# --- extract -----------------------------------------------------------------------------------

_CALL = re.compile(r"testSingleCase\(\s*(chrono[\w.]*|\w+)\s*,\s*")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|`([^`$]*)`')
_NEW_DATE = re.compile(r"new Date\(([^()]*)\)")
_TEXT = re.compile(r"result\.text\)\.toBe\(\s*(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')")
_GET = re.compile(r'result\.start\.get\("(year|month|day|hour|minute|second)"\)\)\.toBe\((-?\d+)\)')
_TO_BE_DATE = re.compile(r"expect\(result\.start\)\.toBeDate\(new Date\(([^()]*)\)\)")
_ARITHMETIC = re.compile(r"^[\d\s+\-*]+$")
# What the contract does not read: hours, minutes and seconds counted, `now`, durations and
# sums (`within`, `later`, `after`, `+2 months`), numbers in words (`in five days`), quarters,
# `this week`, eras and time zones, times with a bare `a`/`p`.
_NOT_COVERED = re.compile(
    r"\b(hours?|hrs?|mins?|minutes?|minuutje|seconds?|secs?|stunden?|minuten?|sekunden?|"
    r"heures?|secondes?|horas?|minutos?|segundos?|ore|ora|minuti|secondi|uur|uren|minuut|"
    r"seconden|now|jetzt|maintenant|ahora|adesso|agora|nu|within|binnen|entro|later|after|"
    r"before|voor|na|ago|quarter|qtr|few|couple|several|quelques|algunos|einigen|"
    r"a (day|week|month|year)|an|one|two|three|five|ein|einem|einer|zwei|drei|fünf|un|une|"
    r"deux|trois|cinq|uno|una|"
    r"dos|tres|cinco|due|tre|cinque|um|uma|dois|três|een|twee|drie|vijf|this week|"
    r"this month|this year|deze week|deze maand|aankomende|be|ac|cet)\b|\d:\d\d:\d\d|"
    r"gmt|utc|[+-]\d|\d[ap]\b|\dmp\b|\dh\d\dm\d|\d\d\d\d(am|pm)|\d{4}[/-](1[3-9]|[23]\d)[/-]|"
    r"\b(next|komende) \d|\d+ \w+ (and|e|und|et|y|en) \d",
    re.I,
)
# A day named only by its month (`in January`, `9/2012`): chrono's 1st, not the contract's.
_FIRST = re.compile(r"(?<!\d)0?1(?!\d)|first|premier|1er|erste|primo|primero|primeiro|eerste", re.I)


def _unquote(literal: str) -> str:
    return json.loads('"' + literal[1:-1].replace('\\"', '"').replace('"', '\\"') + '"')


def _numbers(arguments: str) -> list[int] | None:
    parts = [part.strip() for part in arguments.split(",")]
    if not parts or not all(_ARITHMETIC.match(part) for part in parts):
        return None
    return [int(eval(part)) for part in parts]  # noqa: S307  (digits, + - * only)


def _closing(source: str, start: int) -> int:
    """The index after the parenthesis that closes the call whose arguments start at `start`."""
    depth, i = 1, start
    while i < len(source) and depth:
        char = source[i]
        if char in "\"'`":
            end = source.find(char, i + 1)
            while end != -1 and source[end - 1] == "\\":
                end = source.find(char, end + 1)
            i = end if end != -1 else len(source)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        i += 1
    return i


def _case(lang: str, args: str) -> dict[str, Any] | None:
    text_match = _STRING.match(args)
    if not text_match:
        return None
    text = _unquote(text_match.group(0)) if text_match.group(3) is None else text_match.group(3)
    rest = args[text_match.end() :].lstrip(" ,\n")
    reference = _NEW_DATE.match(rest)
    if not reference or not (ref := _numbers(reference[1])):
        return None
    rest = rest[reference.end() :]
    if re.match(r"\s*,\s*\{", rest) and "forwardDate" not in rest.split("=>")[0]:
        return None  # other options (a time zone, a locale)
    if "result.end" in rest and "result.end).toBeNull" not in rest:
        return None  # a range
    phrase_match = _TEXT.search(rest)
    phrase = _unquote(phrase_match[1]) if phrase_match else None  # then no title is checked
    got = {name: int(value) for name, value in _GET.findall(rest)}
    when = _TO_BE_DATE.search(rest)
    expected = _numbers(when[1]) if when else None
    if expected:
        expected += [0] * (5 - len(expected))
        year, month, day, hour, minute = expected[:5]
        month += 1
    elif {"year", "month", "day"} <= got.keys():
        year, month, day = got["year"], got["month"], got["day"]
        hour, minute = got.get("hour", 12), got.get("minute", 0)
    else:
        return None
    if got.get("second") or _NOT_COVERED.search(phrase or text) or not 1900 <= year <= 2100:
        return None
    year0, month0, day0, hour0, minute0 = [*ref, 0, 0, 0, 0][:5]  # new Date(2012, 7, 10): 0:00
    try:
        now = datetime(year0, month0 + 1, day0, hour0, minute0)
        due = datetime(year, month, day, hour, minute)
    except ValueError:
        return None
    if due.date() < now.date() and not re.search(r"\b(19|20)\d\d\b", phrase or text):
        return None  # the past: not read
    said = phrase or text
    named_first = _NEXT_MONTH.match(said.strip()) or _NEXT_YEAR.match(said.strip())
    if day == 1 and not _FIRST.search(said) and not named_first:
        return None
    # chrono's time of a day named without one is noon, or now's (today, tomorrow): none here.
    timed = due.time() not in (time(12), now.time())
    return {
        "lang": lang,
        "text": text,
        "phrase": phrase,
        "now": now.isoformat(timespec="minutes"),
        "date": due.date().isoformat(),
        "time": due.strftime("%H:%M") if timed else None,
    }


def extract(chrono: Path) -> list[dict[str, Any]]:
    cases = []
    for lang in LANGUAGES:
        names = subprocess.run(
            ["git", "-C", str(chrono), "ls-tree", "-r", "--name-only", "HEAD", f"test/{lang}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for name in sorted(names):
            if not name.endswith(".test.ts"):
                continue
            source = subprocess.run(
                ["git", "-C", str(chrono), "show", f"HEAD:{name}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            for call in _CALL.finditer(source):
                args = source[call.end() : _closing(source, call.end())]
                if (case := _case(lang, args)) is not None:
                    case["source"] = name
                    cases.append(case)
    unique: dict[tuple[str, str, str], dict[str, Any]] = {}
    for case in cases:  # one case per text and "now", the one that names its phrase first
        key = (case["lang"], case["text"], case["now"])
        if key not in unique or unique[key]["phrase"] is None:
            unique[key] = case
    return list(unique.values())


VIKUNJA_TESTS = "frontend/src/modules/quickAddMagic/quickAddMagic.test.ts"
# The contract's own phrases (a joining word before a date, `in 3 hours`, `this weekend`,
# `every morning`, ...), in every language: written by hand in peer_dates.json with their
# title, kept there by `extract`, and counted apart from the suites.
CONTRACT_CASES = "CONTRACT"
_VIKUNJA_PAIR = re.compile(r"^\s*'((?:[^'\\]|\\.)*)': (?:'([^']*)'|null),?\s*$", re.M)
_VIKUNJA_BOUNDARY = re.compile(r"\{input: '([^']*)', dateStr: '([^']*)', text: '([^']*)'\}")
_VIKUNJA_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?: (\d{1,2}):(\d{1,2}))?$")


def _vikunja_case(text: str, phrase: str | None, now: datetime, value: str) -> dict[str, Any]:
    match = _VIKUNJA_DAY.match(value)
    assert match, value
    day = date(int(match[1]), int(match[2]), int(match[3]))
    clock = time(int(match[4]), int(match[5])) if match[4] else None
    # Vikunja keeps now's time on a day named without one: no time then.
    timed = clock is not None and clock != now.time()
    return {
        "lang": "en",
        "text": text,
        "phrase": phrase,
        "now": now.isoformat(timespec="minutes"),
        "date": day.isoformat(),
        "time": clock.strftime("%H:%M") if timed and clock else None,
        "source": VIKUNJA_TESTS,
    }


def _block(source: str, title: str) -> str:
    """The text of the `describe(title, ...)` block of Vikunja's tests."""
    start = source.index(f"describe('{title}'")
    return source[start : _closing(source, source.index("(", start) + 1)]


def extract_vikunja(vikunja: Path) -> list[dict[str, Any]]:
    """The date cases Vikunja's quick add tests write as facts: `Parse date from text` (each
    date at the end and the beginning of `Lorem Ipsum`), `Parse date from text in`, `today`
    with a time, and the dates at text boundaries; those about hours, and `null` (no date),
    are left out."""
    source = subprocess.run(
        ["git", "-C", str(vikunja), "show", f"HEAD:{VIKUNJA_TESTS}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    june = datetime(2021, 6, 24)  # the tests' now.setFullYear(2021, 5, 24)
    cases = []
    for key, value in _VIKUNJA_PAIR.findall(_block(source, "Parse date from text")):
        if value:
            cases.append(_vikunja_case(f"Lorem Ipsum {key}", key, june, value))
            cases.append(_vikunja_case(f"{key} Lorem Ipsum", key, june, value))
    noon = june.replace(hour=12)
    for key, value in _VIKUNJA_PAIR.findall(_block(source, "Parse date from text in")):
        if value and not _NOT_COVERED.search(key):
            cases.append(_vikunja_case(key, None, noon, value))
    for key, value in _VIKUNJA_PAIR.findall(_block(source, "should recognize today with a time")):
        hour, minute = value.split(":")
        when = f"2021-6-24 {hour}:{minute}"
        cases.append(_vikunja_case(f"Lorem Ipsum today {key}", f"today {key}", june, when))
    for text, value, title in _VIKUNJA_BOUNDARY.findall(source):
        case = _vikunja_case(text, None, june, value)
        case["title"] = title
        cases.append(case)
    return cases


# --- run ---------------------------------------------------------------------------------------

_PARTS = {  # the contract's parts of the day, in the words of each language
    9: r"\bmorning|\b(heute|morgen) morgen\b|\bmorgens\b|\bvormittag|\bfrüh\b|\bmatin|"
    r"\besta mañana|\bpor la mañana|\bmattin[ao]\b|\bstamattina\b|\bmanhã\b|ochtend",
    15: r"\bafternoon|\bnachmittag|\baprès-midi|\btarde\b|\bpomeriggio|\bnamiddag",
    12: r"\bnoon\b|\bmidday\b|\bmittag\b|\bmidi\b|\bmediodía\b|\bmezzogiorno\b|"
    r"\bmeio-dia\b|\bmiddag\b",
    19: r"\bevening|\btonight|\babend|\bsoir\b|\bnoche\b|\bsera\b|\bstasera\b|"
    r"(?<!-)\bnoite\b|avond|\bnacht\b|\bstanotte\b",
}
_NEXT_WEEK = re.compile(
    r"^(next week|nächste woche|kommende woche|la semaine prochaine|semaine prochaine|"
    r"la próxima semana|próxima semana|la semana que viene|la settimana prossima|"
    r"settimana prossima|prossima settimana|a próxima semana|semana que vem|volgende week)$",
    re.I,
)
_NEXT_MONTH = re.compile(
    r"^(next month|nächsten monat|nächster monat|kommenden monat|le mois prochain|"
    r"mois prochain|el próximo mes|el mes que viene|próximo mes|il mese prossimo|mese prossimo|"
    r"prossimo mese|o próximo mês|próximo mês|mês que vem|volgende maand)$",
    re.I,
)
_NEXT_YEAR = re.compile(
    r"^(next year|nächstes jahr|kommendes jahr|l'année prochaine|l'an prochain|"
    r"el año que viene|el próximo año|l'anno prossimo|il prossimo anno|o próximo ano|"
    r"o ano que vem|volgend jaar|komend jaar)$",
    re.I,
)
# A time alone: the contract's today, where chrono may say tomorrow.
_TIME_ALONE = re.compile(
    r"^((at|um|à|a las|a la|alle|às|as|a|om|la)\s+)?(\d{1,2}([:.h]\d\d)?\s*(am|pm|uhr|h|u)?|"
    r"midnight|mitternacht|minuit|medianoche|mezzanotte|meia-noite|middernacht)$",
    re.I,
)


def contract_expectation(case: dict[str, Any]) -> tuple[str | None, str | None]:
    """chrono's date and time, or the contract's where it rules otherwise."""
    if case["source"] == CONTRACT_CASES:
        return case["date"], case["time"]  # written by the contract's rules
    now = datetime.fromisoformat(case["now"])
    phrase = (case["phrase"] or case["text"]).strip()
    day, clock = case["date"], case["time"]
    if _NEXT_WEEK.match(phrase):
        monday = now.date() + timedelta(days=7 - now.weekday())
        return monday.isoformat(), None
    if _NEXT_MONTH.match(phrase):
        first = date(now.year + now.month // 12, now.month % 12 + 1, 1)
        return first.isoformat(), None
    if _NEXT_YEAR.match(phrase):
        return date(now.year + 1, 1, 1).isoformat(), None
    if _TIME_ALONE.match(phrase):
        day = now.date().isoformat()
    if case["source"] == VIKUNJA_TESTS:
        if re.search(r"(^|\s)\d{1,2}\.\d{1,2}(\s|$)", phrase):
            return None, None  # English writes no dates with dots: 1.2 is a number
        written_year = re.search(r"\d{4}", phrase)
        without_year = re.search(r"\d{1,2}(st|nd|rd|th)? [a-z]+", phrase, re.I)
        if without_year and not written_year and day < case["now"][:10]:
            # A date without a year is the next such date (Vikunja: this year's, if past).
            return f"{int(day[:4]) + 1}{day[4:]}", clock
    if not re.search(r"\d", phrase):
        for hour, words in _PARTS.items():
            if re.search(words, phrase, re.I):
                return day, f"{hour:02}:00"
    return day, clock


# Words before a date that chrono leaves in the text and the reader takes with the date
# (`le 10 Août`, `a las 6`, `om middernacht`, and the contract's joining words: `by`, `il`,
# `entro`...): either title is the text without the phrase.
_LEADS = frozenset(
    "le el a om op à am on at the by due um bis pour para il entro em até voor".split()  # noqa: SIM905
)


def _same_title(ours: str, theirs: str) -> bool:
    if ours == theirs:
        return True
    head, _, last = theirs.rpartition(" ")
    return last.casefold() in _LEADS and ours == head


def _tidy(title: str) -> str:
    return re.sub(r"\s+([,.!?;:])", r"\1", " ".join(title.split())).strip(" ,.")


async def _run(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sys.path.insert(0, str(HERE.parent))
    # The tests' app and token helpers (loaded by name: bench's type check stops at them).
    support = importlib.import_module("tests.support")
    app_for, client_for = support.app_for, support.client_for
    make_settings, token_for = support.make_settings, support.token_for

    from todo_api.migrations import upgrade_to_head
    from todo_api.words import clock

    results = []
    with tempfile.TemporaryDirectory() as folder:
        settings = make_settings(f"sqlite:///{folder}/peer.db", Path(folder))
        await upgrade_to_head(settings)
        async with app_for(settings) as app, client_for(app, token_for(settings)) as client:
            for case in cases:
                now = datetime.fromisoformat(case["now"]).replace(tzinfo=UTC)
                clock.now = lambda now=now: now  # type: ignore[misc]
                text, phrase = case["text"], case["phrase"]
                if "title" not in case and not text.replace(phrase or text, "").strip(" ,.!?"):
                    text = f"Task {text}"
                answer = await client.post(
                    "/api/tasks/quick", json={"text": text, "lang": case["lang"]}
                )
                body = answer.json()
                day, hour = contract_expectation(case)
                if answer.status_code != 201:
                    got: tuple[Any, ...] = (answer.status_code, body.get("details"))
                elif body["due_at"]:
                    moment = datetime.fromisoformat(body["due_at"].replace("Z", "+00:00"))
                    got = (moment.date().isoformat(), moment.strftime("%H:%M"), body["title"])
                else:
                    got = (body["due_date"], None, body["title"])
                title = _tidy(text.replace(phrase, " ", 1)) if phrase else case.get("title")
                if day is None:  # no date: the text is the title
                    title = _tidy(text)
                agrees = (
                    answer.status_code == 201
                    and got[0] == day
                    and (hour is None or got[1] == hour)
                    and (title is None or _same_title(_tidy(got[2]), title))
                )
                results.append({**case, "sent": text, "want": (day, hour, title), "got": got,
                                "agrees": agrees})  # fmt: skip
    return results


def report(results: list[dict[str, Any]], failures: bool) -> None:
    total, agreed = Counter[str](), Counter[str]()
    for result in results:
        suite = "vikunja" if result["source"] == VIKUNJA_TESTS else result["lang"]
        if result["source"] == CONTRACT_CASES:
            suite = f"contract {result['lang']}"
        total[suite] += 1
        agreed[suite] += result["agrees"]
    print("| language | cases | agree | % |")
    print("| --- | ---: | ---: | ---: |")
    for lang in LANGUAGES:
        share = 100 * agreed[lang] / total[lang] if total[lang] else 0
        print(f"| {lang} | {total[lang]} | {agreed[lang]} | {share:.0f} |")
    all_total = sum(total[lang] for lang in LANGUAGES)
    all_agreed = sum(agreed[lang] for lang in LANGUAGES)
    if all_total:
        print(f"| chrono, all | {all_total} | {all_agreed} | {100 * all_agreed / all_total:.0f} |")
    if total["vikunja"]:
        share = 100 * agreed["vikunja"] / total["vikunja"]
        print(f"| Vikunja (en) | {total['vikunja']} | {agreed['vikunja']} | {share:.0f} |")
    for lang in LANGUAGES:
        suite = f"contract {lang}"
        if total[suite]:
            share = 100 * agreed[suite] / total[suite]
            print(f"| {suite} | {total[suite]} | {agreed[suite]} | {share:.0f} |")
    if failures:
        for result in results:
            if not result["agrees"]:
                print(f"{result['lang']} {result['sent']!r} now {result['now']}: "
                      f"want {result['want']} got {result['got']}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    extracting = verbs.add_parser("extract")
    extracting.add_argument("--chrono", type=Path, required=True, help="a git checkout")
    extracting.add_argument("--vikunja", type=Path, required=True, help="a git checkout")
    running = verbs.add_parser("run")
    running.add_argument("--failures", action="store_true")
    running.add_argument("--lang", choices=LANGUAGES)
    args = parser.parse_args()
    if args.verb == "extract":
        kept = [c for c in json.loads(CASES.read_text()) if c["source"] == CONTRACT_CASES]
        cases = extract(args.chrono) + extract_vikunja(args.vikunja) + kept
        lines = ",\n".join(json.dumps(case, ensure_ascii=False) for case in cases)
        CASES.write_text(f"[\n{lines}\n]\n")  # a case a line
        print(f"{len(cases)} cases written to {CASES}")
        return
    cases = json.loads(CASES.read_text())
    if args.lang:
        cases = [c for c in cases if c["lang"] == args.lang and c["source"] != VIKUNJA_TESTS]
    report(asyncio.run(_run(cases)), args.failures)


if __name__ == "__main__":
    main()
