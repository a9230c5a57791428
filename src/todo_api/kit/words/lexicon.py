"""The words each language uses for the reader's parts (`todo_api.kit.words.reader`).

Each language maps a phrase (one or more words, case-folded) to a symbol the grammar reads:
`TODAY`, `WD0`..`WD6` (Monday..Sunday), `MON1`..`MON12`, `UNITd|w|m|y`, `EVERY`, ... The
grammar itself knows no language: "lundi prochain" and "next monday" are the same symbols in
another order, and it accepts both orders. A word written without its accents is the same word
("miercoles", "naechste" are not, "lunedi" and "proxima" are).
"""

import functools
import unicodedata

LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl")

_WEEKDAYS = {
    "en": "mon monday|tue tues tuesday|wed weds wednesday|thu thur thurs thursday|fri friday|"
    "sat saturday|sun sunday",
    "de": "mo. montag|di. dienstag|mi. mittwoch|do. donnerstag|fr. freitag|sa. samstag sonnabend|"
    "so. sonntag",
    "fr": "lun lundi lundis|mar mardi mardis|mer mercredi mercredis|jeu jeudi jeudis|"
    "ven vendredi vendredis|sam samedi samedis|dim dimanche dimanches",
    "es": "lun lunes|mar martes|mié miércoles|jue jueves|vie viernes|sáb sábado sábados|"
    "dom domingo domingos",
    "it": "lun lunedì|mar martedì|mer mercoledì|gio giovedì|ven venerdì|sab sabato|dom domenica",
    "pt": "seg segunda segunda-feira|ter terça terça-feira|qua quarta quarta-feira|"
    "qui quinta quinta-feira|sex sexta sexta-feira|sáb sábado|dom domingo",
    "nl": "ma. maandag|di. dinsdag|wo. woensdag|do. donderdag|vr. vrijdag|za. zaterdag|zo. zondag",
}

# Weekdays too short to read alone (`Do` is a word), read before a date: `Di, 10. Januar`.
_SHORT_WEEKDAYS = {
    "de": "mo|di|mi|do|fr|sa|so",
    "nl": "ma|di|wo|do|vr|za|zo zon",
}

_MONTHS = {
    "en": "jan january|feb february|mar march|apr april|may|jun june|jul july|aug august|"
    "sep sept september|oct october|nov november|dec december",
    "de": "jan januar jänner|feb februar|mär märz maerz|apr april|mai|jun juni|jul juli|aug august|"
    "sep sept september|okt oktober|nov november|dez dezember",
    "fr": "jan janv janvier|févr février|mars|avr avril|mai|juin|juil juillet|août|"
    "sept septembre|oct octobre|nov novembre|déc décembre",
    "es": "ene enero|feb febrero|mar marzo|abr abril|may mayo|jun junio|jul julio|ago agosto|"
    "sep sept septiembre|oct octubre|nov noviembre|dic diciembre",
    "it": "gen gennaio|feb febbraio|mar marzo|apr aprile|mag maggio|giu giugno|lug luglio|"
    "ago agosto|set settembre|ott ottobre|nov novembre|dic dicembre",
    "pt": "jan janeiro|fev fevereiro|mar março|abr abril|mai maio|jun junho|jul julho|"
    "ago agosto|set setembro|out outubro|nov novembro|dez dezembro",
    "nl": "jan januari|feb februari|mrt maart|apr april|mei|jun juni|jul juli|aug augustus|"
    "sep sept september|okt oktober|nov november|dec december",
}

# symbol: phrases, "|" between phrases. UNIT words are singular and plural.
_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "YESTERDAY": "yesterday",
        "BEFORE_YESTERDAY": "day before yesterday|the day before yesterday",
        "WEEKEND": "weekend|week-end|the weekend",
        "HOURS": "hour|hours|hr|hrs",
        "MINUTES": "minute|minutes|min|mins",
        "ONE": "a|an|one",
        "OCLOCK": "o'clock|oclock",
        "JOIN": "by|on|at|due",
        "TODAY": "today",
        "TONIGHT": "tonight",
        "MORNING": "morning|in the morning",
        "AFTERNOON": "afternoon|in the afternoon",
        "EVENING": "evening|in the evening|night|at night",
        "TOMORROW": "tomorrow|tmr|tmrw",
        "AFTER_TOMORROW": "day after tomorrow|the day after tomorrow",
        "NEXT": "next",
        "THIS": "this",
        "IN": "in",
        "UNITd": "day|days",
        "UNITw": "week|weeks",
        "UNITm": "month|months",
        "UNITy": "year|years",
        "ON": "on|on the|the",
        "OF": "of",
        "EOM": "end of month|end of the month",
        "NOON": "noon|midday|mid day|mid-day",
        "MIDNIGHT": "midnight",
        "AT": "at|@",
        "EVERY": "every|ev|each",
        "OTHER": "other",
        "DAILY": "daily",
        "WEEKLY": "weekly",
        "MONTHLY": "monthly",
        "YEARLY": "yearly|annually",
        "WORKDAY": "weekday|workday|work day",
        "LAST": "last",
        "STARTING": "starting|starting on|from|starting from",
        "UNTIL": "until|till|ending",
        "AND": "and|,",
        "ORD1": "first",
        "ORD2": "second",
        "ORD3": "third",
        "ORD4": "fourth",
        "ORD5": "fifth",
        "ORD6": "sixth",
        "ORD7": "seventh",
        "ORD8": "eighth",
        "ORD9": "ninth",
        "ORD10": "tenth",
        "ORD11": "eleventh",
        "ORD12": "twelfth",
        "ORD13": "thirteenth",
        "ORD14": "fourteenth",
        "ORD15": "fifteenth",
        "ORD16": "sixteenth",
        "ORD17": "seventeenth",
        "ORD18": "eighteenth",
        "ORD19": "nineteenth",
        "ORD20": "twentieth",
        "ORD21": "twenty-first|twenty first",
        "ORD22": "twenty-second|twenty second",
        "ORD23": "twenty-third|twenty third",
        "ORD24": "twenty-fourth|twenty fourth",
        "ORD25": "twenty-fifth|twenty fifth",
        "ORD26": "twenty-sixth|twenty sixth",
        "ORD27": "twenty-seventh|twenty seventh",
        "ORD28": "twenty-eighth|twenty eighth",
        "ORD29": "twenty-ninth|twenty ninth",
        "ORD30": "thirtieth",
        "ORD31": "thirty-first|thirty first",
        # A month after `in` and a number only ("in 1 mon"): alone, `mon` is Monday.
        "COUNTEDm": "mon|mo|mos|mth|mths",
    },
    "de": {
        "YESTERDAY": "gestern",
        "BEFORE_YESTERDAY": "vorgestern",
        "WEEKEND": "wochenende",
        "HOURS": "stunde|stunden",
        "MINUTES": "minute|minuten",
        "ONE": "einer|einem|eine|ein",
        "JOIN": "am|um|bis",
        "TODAY": "heute",
        "TONIGHT": "heute abend|heute nacht",
        "MORNING": "morgen|morgens|früh|vormittag|am morgen|am vormittag",
        "AFTERNOON": "nachmittag|nachmittags|am nachmittag",
        "EVENING": "abend|abends|am abend|nacht|nachts",
        "TOMORROW": "morgen",
        "AFTER_TOMORROW": "übermorgen|uebermorgen",
        "NEXT": "nächsten|nächster|nächste|nächstes|kommenden|kommender|kommende|kommendes",
        "THIS": "diesen|diese|dieser|dieses",
        "IN": "in",
        "UNITd": "tag|tage|tagen",
        "UNITw": "woche|wochen",
        "UNITm": "monat|monate|monaten",
        "UNITy": "jahr|jahre|jahren",
        "ON": "am|den",
        "EOM": "monatsende|ende des monats|ende monat",
        "NOON": "mittag|mittags",
        "MIDNIGHT": "mitternacht",
        "AT": "um",
        "OCLOCK": "uhr",
        "EVERY": "jeden|jede|jedes|jeder|alle",
        "OTHER": "zweiten",
        "DAILY": "täglich",
        "WEEKLY": "wöchentlich",
        "MONTHLY": "monatlich",
        "YEARLY": "jährlich",
        "WORKDAY": "werktag|arbeitstag|wochentag",
        "LAST": "letzten|letzter|letzte",
        "STARTING": "ab|beginnend|beginnend am",
        "UNTIL": "bis|bis zum|bis am",
        "AND": "und|,",
        "ORD1": "ersten",
        "ORD2": "zweiten",
        "ORD3": "dritten",
        "ORD4": "vierten",
    },
    "fr": {
        "YESTERDAY": "hier",
        "BEFORE_YESTERDAY": "avant-hier|avant hier",
        "WEEKEND": "week-end|weekend",
        "HOURS": "heure|heures",
        "MINUTES": "minute|minutes",
        "ONE": "une|un",
        "JOIN": "le|à|pour",
        "TODAY": "aujourd'hui|auj",
        "TONIGHT": "ce soir",
        "MORNING": "matin|matins|du matin|le matin",
        "AFTERNOON": "après-midi|de l'après-midi|l'après-midi",
        "EVENING": "soir|soirs|du soir|le soir",
        "TOMORROW": "demain",
        "AFTER_TOMORROW": "après-demain|après demain",
        "NEXT": "prochain|prochaine",
        "THIS": "ce|cet|cette",
        "IN": "dans",
        "UNITd": "jour|jours",
        "UNITw": "semaine|semaines",
        "UNITm": "mois",
        "UNITy": "an|ans|année|années|l'an|l'année",
        "ON": "le",
        "EOM": "fin du mois|fin de mois",
        "NOON": "midi",
        "MIDNIGHT": "minuit",
        "AT": "à",
        "EVERY": "chaque|tous les|toutes les|tous|toutes",
        "OTHER": "deux",
        "DAILY": "quotidien|quotidiennement",
        "WEEKLY": "hebdomadaire|chaque semaine",
        "MONTHLY": "mensuel|mensuellement",
        "YEARLY": "annuel|annuellement",
        "WORKDAY": "jour ouvré|jours ouvrés|jour ouvrable|jours ouvrables|jour de semaine",
        "LAST": "dernier|dernière",
        "STARTING": "à partir du|à partir de|dès le|depuis le",
        "UNTIL": "jusqu'au|jusqu'en|jusqu'à",
        "AND": "et|,",
        "ORD1": "premier|première",
        "ORD2": "deuxième",
        "ORD3": "troisième",
        "ORD4": "quatrième",
    },
    "es": {
        "YESTERDAY": "ayer",
        "BEFORE_YESTERDAY": "anteayer|antier",
        "WEEKEND": "fin de semana|finde",
        "HOURS": "hora|horas",
        "MINUTES": "minuto|minutos",
        "ONE": "una|un",
        "JOIN": "el|para",
        "TODAY": "hoy",
        "TONIGHT": "esta noche",
        "MORNING": "mañana|mañanas|por la mañana|de la mañana",
        "AFTERNOON": "tarde|por la tarde|de la tarde",
        "EVENING": "noche|noches|por la noche|de la noche",
        "TOMORROW": "mañana",
        "AFTER_TOMORROW": "pasado mañana",
        "NEXT": "próximo|próxima|el próximo|la próxima|que viene",
        "THIS": "este|esta",
        "IN": "en|dentro de",
        "UNITd": "día|días",
        "UNITw": "semana|semanas",
        "UNITm": "mes|meses",
        "UNITy": "año|años",
        "ON": "el|el día",
        "OF": "de",
        "EOM": "fin de mes|final de mes|fin del mes",
        "NOON": "mediodía",
        "MIDNIGHT": "medianoche",
        "AT": "a las|a la",
        "EVERY": "cada|todos los|todas las",
        "OTHER": "por medio",
        "DAILY": "diario|diariamente",
        "WEEKLY": "semanal|semanalmente",
        "MONTHLY": "mensual|mensualmente",
        "YEARLY": "anual|anualmente",
        "WORKDAY": "día laborable|días laborables|día hábil|días hábiles",
        "LAST": "último|última",
        "STARTING": "desde|desde el|a partir del|a partir de",
        "UNTIL": "hasta|hasta el",
        "AND": "y|,",
        "ORD1": "primer|primero|primera",
        "ORD2": "segundo|segunda",
        "ORD3": "tercer|tercero|tercera",
        "ORD4": "cuarto|cuarta",
    },
    "it": {
        "YESTERDAY": "ieri",
        "BEFORE_YESTERDAY": "l'altro ieri|altroieri",
        "WEEKEND": "fine settimana|weekend",
        "HOURS": "ora|ore",
        "ONE_HOUR": "un'ora",
        "MINUTES": "minuto|minuti",
        "ONE": "un|una|un'",
        "JOIN": "il|entro",
        "TODAY": "oggi",
        "TONIGHT": "stasera|stanotte",
        "TODAY+MORNING": "stamattina",
        "MORNING": "mattina|mattine|mattino|di mattina|la mattina",
        "AFTERNOON": "pomeriggio|di pomeriggio|il pomeriggio",
        "EVENING": "sera|sere|di sera|la sera|notte|di notte",
        "TOMORROW": "domani",
        "AFTER_TOMORROW": "dopodomani",
        "NEXT": "prossimo|prossima",
        "THIS": "questo|questa",
        "IN": "tra|fra|in",
        "UNITd": "giorno|giorni",
        "UNITw": "settimana|settimane",
        "UNITm": "mese|mesi",
        "UNITy": "anno|anni|l'anno",
        "ON": "il|l'|il giorno",
        "EOM": "fine mese|fine del mese",
        "NOON": "mezzogiorno|a mezzogiorno",
        "MIDNIGHT": "mezzanotte|a mezzanotte",
        "AT": "alle|all'|alle ore|ore",
        "EVERY": "ogni|tutti i|tutte le",
        "OTHER": "altro",
        "DAILY": "quotidianamente|giornalmente",
        "WEEKLY": "settimanalmente",
        "MONTHLY": "mensilmente",
        "YEARLY": "annualmente",
        "WORKDAY": "giorno feriale|giorni feriali|giorno lavorativo|giorni lavorativi",
        "LAST": "ultimo|ultima",
        "STARTING": "dal|da|a partire dal|a partire da",
        "UNTIL": "fino al|fino a|fino",
        "AND": "e|,",
        "ORD1": "primo|prima",
        "ORD2": "secondo|seconda",
        "ORD3": "terzo|terza",
        "ORD4": "quarto|quarta",
    },
    "pt": {
        "YESTERDAY": "ontem",
        "BEFORE_YESTERDAY": "anteontem",
        "WEEKEND": "fim de semana",
        "HOURS": "hora|horas",
        "MINUTES": "minuto|minutos",
        "ONE": "uma|um",
        "JOIN": "em|até",
        "TODAY": "hoje",
        "TONIGHT": "hoje à noite|esta noite",
        "MORNING": "manhã|manhãs|de manhã|da manhã",
        "AFTERNOON": "tarde|à tarde|da tarde",
        "EVENING": "noite|noites|à noite|da noite",
        "TOMORROW": "amanhã",
        "AFTER_TOMORROW": "depois de amanhã",
        "NEXT": "próximo|próxima|o próximo|a próxima|que vem",
        "THIS": "este|esta",
        "IN": "em|daqui a",
        "UNITd": "dia|dias",
        "UNITw": "semana|semanas",
        "UNITm": "mês|meses",
        "UNITy": "ano|anos",
        "ON": "dia|no dia|o dia",
        "OF": "de",
        "EOM": "fim do mês|final do mês",
        "NOON": "meio-dia|meio dia",
        "MIDNIGHT": "meia-noite|meia noite",
        "AT": "às|as|à",
        "EVERY": "todo|toda|todos os|todas as|cada|a cada",
        "OTHER": "outro|outra",
        "DAILY": "diariamente",
        "WEEKLY": "semanalmente",
        "MONTHLY": "mensalmente",
        "YEARLY": "anualmente",
        "WORKDAY": "dia útil|dias úteis",
        "LAST": "último|última",
        "STARTING": "a partir de|a partir do|desde",
        "UNTIL": "até|até o",
        "AND": "e|,",
        "ORD1": "primeiro|primeira",
        "ORD2": "segundo|segunda",
        "ORD3": "terceiro|terceira",
        "ORD4": "quarto|quarta",
    },
    "nl": {
        "YESTERDAY": "gisteren",
        "BEFORE_YESTERDAY": "eergisteren",
        "WEEKEND": "weekend",
        "HOURS": "uur|uren",
        "MINUTES": "minuut|minuten",
        "ONE": "een|één",
        "JOIN": "op|om|voor",
        "TODAY": "vandaag",
        "TONIGHT": "vanavond",
        "TODAY+MORNING": "vanochtend|vanmorgen",
        "TODAY+AFTERNOON": "vanmiddag",
        "TOMORROW+MORNING": "morgenochtend|morgenvroeg",
        "TOMORROW+AFTERNOON": "morgenmiddag",
        "TOMORROW+EVENING": "morgenavond",
        "MORNING": "ochtend|morgens|'s morgens|'s ochtends|in de ochtend",
        "AFTERNOON": "namiddag|in de namiddag|'s middags",
        "EVENING": "avond|'s avonds|in de avond|nacht|'s nachts",
        "TOMORROW": "morgen",
        "AFTER_TOMORROW": "overmorgen",
        "NEXT": "volgende|volgend|komende",
        "THIS": "deze|dit",
        "IN": "over|in",
        "UNITd": "dag|dagen",
        "UNITw": "week|weken",
        "UNITm": "maand|maanden",
        "UNITy": "jaar|jaren",
        "ON": "op|op de|de",
        "EOM": "eind van de maand|einde van de maand|eind maand|einde maand",
        "NOON": "middag|twaalf uur",
        "MIDNIGHT": "middernacht",
        "AT": "om",
        "OCLOCK": "uur",
        "EVERY": "elke|elk|iedere|ieder|om de",
        "OTHER": "andere",
        "DAILY": "dagelijks",
        "WEEKLY": "wekelijks",
        "MONTHLY": "maandelijks",
        "YEARLY": "jaarlijks",
        "WORKDAY": "werkdag|werkdagen|weekdag|weekdagen",
        "LAST": "laatste",
        "STARTING": "vanaf|beginnend|beginnend op",
        "UNTIL": "tot|tot en met",
        "AND": "en|,",
        "ORD1": "eerste",
        "ORD2": "tweede",
        "ORD3": "derde",
        "ORD4": "vierde",
    },
}


@functools.lru_cache(maxsize=8192)
def fold(word: str) -> str:
    """A word as the lexicon keys it: case-folded, without accents."""
    decomposed = unicodedata.normalize("NFD", word.casefold().replace("\u2019", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.cache
def phrases(lang: str) -> dict[tuple[str, ...], frozenset[str]]:
    """Each phrase of `lang` (its words folded) and its symbols ("dia" is a day and "on")."""
    table: dict[tuple[str, ...], set[str]] = {}

    def add(phrase: str, symbol: str) -> None:
        table.setdefault(tuple(fold(phrase).split()), set()).add(symbol)

    for symbol, spelled in _WORDS[lang].items():
        for phrase in spelled.split("|"):
            add(phrase, symbol)
    for index, names in enumerate(_WEEKDAYS[lang].split("|")):
        for name in names.split():
            add(name, f"WD{index}")
    for index, names in enumerate(_SHORT_WEEKDAYS.get(lang, "").split("|")):
        for name in names.split():
            add(name, f"SWD{index}")
    for index, names in enumerate(_MONTHS[lang].split("|"), start=1):
        for name in names.split():
            add(name, f"MON{index}")
    return {key: frozenset(symbols) for key, symbols in table.items()}


@functools.cache
def first_words(lang: str) -> frozenset[str]:
    """The words a phrase of `lang` can start with: any other word starts none."""
    return frozenset(key[0] for key in phrases(lang))


@functools.cache
def longest(lang: str) -> int:
    return max(len(key) for key in phrases(lang))


@functools.cache
def vocabulary() -> frozenset[str]:
    """Every word any language's lexicon holds (folded): the words the reader may read."""
    return frozenset(word for lang in LANGUAGES for key in phrases(lang) for word in key)

