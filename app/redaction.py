"""Secrets a caller says aloud are taken out before anything keeps or forwards their words
(the call's transcript in Redis, the agent's screen, Rasa's tracker and logs).

Two layers:

1. By context (`verification_expected`): while the app collects a secret (`awaiting ==
   "secret"`) or the dialogue's form asks for a verification field (its `requested_slot` is
   in `VERIFICATION_SLOTS`), nothing the caller says is kept: the transcript gets
   `NOT_KEPT_SPOKEN` and the dialogue gets `redact_all_numbers` of the words, so "I forgot
   my PIN" or "no" still steer it while no digit, number word or month reaches it. The
   account number is an identifier, not a secret: the form asks for it first (its own
   `requested_slot`), and it still reaches the dialogue.
2. By pattern (`redact_secrets`), everywhere else: a run of numbers (digits of any script,
   spelled-out number words, fillers such as "um" or "it's" between them) is redacted when
   a secret word (PIN, password, date of birth, ZIP code...) labels it, before it ("my pin
   is 4821", "pin, um, 4821") or right after it ("4821 is my pin"); and a whole date whose
   year is a birth year ("january 1st 1968", "1/1/1968") is redacted wherever it is said.
   A run labelled by an identifier word ("my account number is 10234567") is kept.

Thai, Lao and Chinese are written without spaces, so `\\b` cannot find their words: the text
is cut into tokens by matching the known words of every table at each position (longest
first); letters of those scripts that match no known word are "other" text. Latin-script
words match only as whole words. Each language's words are in one table below
(`ENGLISH`, `THAI`, ...): an operator extends a language by adding words to its table, and a
new language by adding a table to `VOCABULARIES`. The tables hold recognisable words, not
caller-facing sentences.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from app.calls import CallRecord

REDACTED = "[redacted]"
# What the transcript keeps of words said while a secret was expected.
NOT_KEPT_SPOKEN = "[spoken during verification: not kept]"
NOT_KEPT_KEYED = "[keyed during verification: not kept]"
# The dialogue's form slots whose value is a secret's outcome (dialogue/domain.yml,
# verification_form): while one is requested, the caller is being asked for a secret.
VERIFICATION_SLOTS = frozenset({"verification"})
# How many unknown words may stand between a secret word and the number it labels
# ("my pin is, let me see, 4821").
_LOOSE_WINDOW = 3
# A whole date with a year at least this many years ago is taken for a date of birth.
_BIRTH_YEAR_AGE = 10


def _words(listed: str) -> tuple[str, ...]:
    """A table's words, written as one comma-separated list."""
    return tuple(word.strip() for word in listed.split(",") if word.strip())


@dataclass(frozen=True)
class Vocabulary:
    """The words of one language the redaction recognises.

    secret_words: label a secret (PIN, password, date of birth, postcode).
    identifier_words: label a number that is not secret and must be kept (account number).
    number_words: spelled-out digits and numbers, ordinals ("first").
    weak_number_words: count only beside a real number ("oh", "double"): alone they are
        ordinary words ("oh, my pin is...").
    months: month names; part of a date beside a number, ordinary words alone ("born in
        may").
    fillers: may stand between a label and its number, or inside a number ("is", "um").
    date_units: follow a number in a date (年, 月, 日).
    boundaries: end a clause: a label never reaches across them ("and").
    not_numbers: ordinary words that start with a number word, where words are not spaced
        (Thai สามารถ "can" starts with สาม "three").
    """

    secret_words: tuple[str, ...] = ()
    identifier_words: tuple[str, ...] = ()
    number_words: tuple[str, ...] = ()
    weak_number_words: tuple[str, ...] = ()
    months: tuple[str, ...] = ()
    fillers: tuple[str, ...] = ()
    date_units: tuple[str, ...] = ()
    boundaries: tuple[str, ...] = ()
    not_numbers: tuple[str, ...] = ()


ENGLISH = Vocabulary(
    secret_words=_words(
        "pin, pin number, pin code, passcode, pass code, password, security code, secret code, "
        "date of birth, birth date, birthdate, birthday, born, dob, d o b, zip, zip code, "
        "zipcode, postcode, post code, postal code"
    ),
    identifier_words=_words(
        "account, account number, customer number, reference, phone, telephone, order, ticket, "
        "appointment"
    ),
    number_words=_words(
        "zero, one, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve, "
        "thirteen, fourteen, fifteen, sixteen, seventeen, eighteen, nineteen, twenty, thirty, "
        "forty, fifty, sixty, seventy, eighty, ninety, hundred, thousand, first, second, third, "
        "fourth, fifth, sixth, seventh, eighth, ninth, tenth, eleventh, twelfth, thirteenth, "
        "fourteenth, fifteenth, sixteenth, seventeenth, eighteenth, nineteenth, twentieth, "
        "thirtieth"
    ),
    weak_number_words=_words("oh, o, double, triple"),
    months=_words(
        "january, february, march, april, may, june, july, august, september, october, november, "
        "december, jan, feb, mar, apr, jun, jul, aug, sep, sept, oct, nov, dec"
    ),
    fillers=_words(
        "is, it's, its, it, was, are, my, the, of, on, in, at, number, code, um, umm, uh, er, "
        "erm, ah, hmm, like, so, just, that, that's, this, 's, \u2019s, equals, actually, okay, "
        "ok, yeah, yes"
    ),
    boundaries=_words("and, but, also, then"),
)

THAI = Vocabulary(
    secret_words=_words(
        "รหัส, รหัสผ่าน, รหัสพิน, รหัสลับ, พิน, พาสเวิร์ด, วันเกิด, เกิด, วันเดือนปีเกิด, รหัสไปรษณีย์, รหัสความปลอดภัย"
    ),
    identifier_words=_words("บัญชี, เลขบัญชี, หมายเลขบัญชี, เลขที่บัญชี, รหัสลูกค้า, เบอร์โทร, หมายเลขโทรศัพท์"),
    number_words=_words(
        "ศูนย์, หนึ่ง, เอ็ด, สอง, ยี่, สาม, สี่, ห้า, หก, เจ็ด, แปด, เก้า, สิบ, ร้อย, พัน, หมื่น, แสน, ล้าน"
    ),
    months=_words(
        "มกราคม, กุมภาพันธ์, มีนาคม, เมษายน, พฤษภาคม, มิถุนายน, กรกฎาคม, สิงหาคม, กันยายน, "
        "ตุลาคม, พฤศจิกายน, ธันวาคม"
    ),
    fillers=_words(
        "คือ, ครับ, ค่ะ, คะ, นะ, เอ่อ, อ่า, อืม, ของ, ผม, ฉัน, ดิฉัน, หนู, เป็น, ก็, ที่, เลข, "
        "หมายเลข, วันที่, ปี, เดือน, พ.ศ., ค.ศ."
    ),
    boundaries=_words("และ, แล้วก็, แต่"),
    not_numbers=_words("สามารถ, สามี, ห้าม, เก้าอี้, หกล้ม, ยี่ห้อ, สองสาม, พันธุ์, แสนดี"),
)

LAO = Vocabulary(
    secret_words=_words("ລະຫັດ, ລະຫັດຜ່ານ, ລະຫັດພິນ, ລະຫັດລັບ, ພິນ, ວັນເກີດ, ເກີດ, ວັນເດືອນປີເກີດ, ລະຫັດໄປສະນີ"),
    identifier_words=_words("ບັນຊີ, ເລກບັນຊີ, ໝາຍເລກບັນຊີ, ລະຫັດລູກຄ້າ, ເບີໂທ"),
    number_words=_words(
        "ສູນ, ໜຶ່ງ, ຫນຶ່ງ, ເອັດ, ສອງ, ຊາວ, ສາມ, ສີ່, ຫ້າ, ຫົກ, ເຈັດ, ແປດ, ເກົ້າ, ສິບ, ຮ້ອຍ, ພັນ, ໝື່ນ, ແສນ, ລ້ານ"
    ),
    months=_words("ມັງກອນ, ກຸມພາ, ມີນາ, ເມສາ, ພຶດສະພາ, ມິຖຸນາ, ກໍລະກົດ, ສິງຫາ, ກັນຍາ, ຕຸລາ, ພະຈິກ, ທັນວາ"),
    fillers=_words("ແມ່ນ, ຄື, ຂອງ, ຂ້ອຍ, ຂ້ານ້ອຍ, ເອີ, ອື, ເດີ, ເລກ, ໝາຍເລກ, ວັນທີ, ປີ, ເດືອນ, ກໍ, ເປັນ"),
    boundaries=_words("ແລະ, ແຕ່"),
    not_numbers=_words("ສາມາດ, ສາມີ, ຫ້າມ"),
)

INDONESIAN = Vocabulary(
    secret_words=_words(
        "pin, kata sandi, sandi, kode keamanan, kode rahasia, tanggal lahir, tgl lahir, lahir, "
        "ulang tahun, kode pos"
    ),
    identifier_words=_words(
        "akun, nomor akun, rekening, nomor rekening, nomor pelanggan, id pelanggan, telepon, "
        "nomor telepon"
    ),
    number_words=_words(
        "nol, kosong, satu, dua, tiga, empat, lima, enam, tujuh, delapan, sembilan, sepuluh, "
        "sebelas, belas, puluh, seratus, ratus, seribu, ribu, pertama, kesatu, kedua, ketiga"
    ),
    months=_words(
        "januari, februari, maret, april, mei, juni, juli, agustus, september, oktober, november, "
        "desember"
    ),
    fillers=_words(
        "saya, adalah, yaitu, ialah, itu, ini, eh, em, anu, ya, nomor, kode, tanggal, bulan, "
        "tahun, nya, pada, di"
    ),
    boundaries=_words("dan, tapi, lalu"),
)

# Mandarin: Simplified and Traditional characters in one table.
CHINESE = Vocabulary(
    secret_words=_words(
        "密码, 密碼, pin码, pin碼, 个人识别码, 個人識別碼, 生日, 出生日期, 出生, "
        "邮编, 郵編, 邮政编码, 郵政編碼, 郵遞區號, 邮递区号, 安全码, 安全碼"
    ),
    identifier_words=_words("账号, 帳號, 账户, 帳戶, 户号, 戶號, 客户号, 客戶號, 电话, 電話"),
    number_words=_words(
        "零, \u3007, 一, 幺, 二, 两, 兩, 三, 四, 五, 六, 七, 八, 九, 十, 百, 千, 万, 萬"
    ),
    fillers=_words("是, 我的, 我, 的, 呃, 嗯, 啊, 那个, 那個, 就是, 号码, 號碼, 为, 為"),
    date_units=_words("年, 月, 日, 号, 號"),
    boundaries=_words("和, 还有, 還有, 但是, 然后, 然後"),
    not_numbers=_words(
        "一下, 一些, 一样, 一樣, 一直, 一定, 一起, 一点, 一點, 万一, 萬一, 十分, 一般, 不一"
    ),
)

VOCABULARIES: tuple[Vocabulary, ...] = (ENGLISH, THAI, LAO, INDONESIAN, CHINESE)


class Kind(Enum):
    secret = "secret"
    identifier = "identifier"
    number = "number"
    weak = "weak"
    month = "month"
    filler = "filler"
    unit = "unit"
    boundary = "boundary"
    punct = "punct"
    other = "other"


@dataclass
class Token:
    kind: Kind
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Lexicon:
    pattern: re.Pattern[str]
    kinds: dict[str, Kind] = field(default_factory=dict)


def _normal(word: str) -> str:
    return " ".join(re.split(r"[\s\-]+", word.casefold().replace("\u2019", "'")))


def _word_pattern(word: str) -> str:
    parts = [re.escape(part) for part in _normal(word).split(" ")]
    body = r"[\s\-]+".join(parts)
    if re.fullmatch(r"[a-z' ]+", _normal(word)):
        # Latin words only whole (never the "pin" of "pinnacle"); Indonesian "-nya" may end
        # them ("pinnya").
        return rf"(?<![a-z]){body}(?:nya)?(?![a-z])"
    return body


def _build_lexicon(vocabularies: Iterable[Vocabulary]) -> _Lexicon:
    kinds: dict[str, Kind] = {}
    for vocabulary in vocabularies:
        for kind, words in (
            (Kind.other, vocabulary.not_numbers),
            (Kind.filler, vocabulary.fillers),
            (Kind.unit, vocabulary.date_units),
            (Kind.boundary, vocabulary.boundaries),
            (Kind.weak, vocabulary.weak_number_words),
            (Kind.month, vocabulary.months),
            (Kind.number, vocabulary.number_words),
            (Kind.identifier, vocabulary.identifier_words),
            (Kind.secret, vocabulary.secret_words),
        ):
            for word in words:
                kinds[_normal(word)] = kind  # later kinds win: a secret word stays one
    ordered = sorted(kinds, key=len, reverse=True)
    pattern = re.compile("|".join(_word_pattern(word) for word in ordered), re.IGNORECASE)
    return _Lexicon(pattern, kinds)


_LEXICON = _build_lexicon(VOCABULARIES)
# Digits of any script (Thai, Lao and full-width digits are \d too), with date
# separators inside ("1/1/1968"), ordinal endings ("1st") and postcode letters ("SW1A").
_DIGITS = re.compile(r"(?<![a-z])[a-z]{0,2}\d(?:[a-z\d]|[/.\-](?=\d))*(?![a-z])", re.IGNORECASE)
_LATIN_WORD = re.compile(r"[a-z]+|['\u2019][a-z]+", re.IGNORECASE)
# Sentence ends, the full-width ones (Chinese) too.
_SENTENCE_END = set(".?!;\u3002\uff1f\uff01\uff1b")


def tokens(text: str) -> list[Token]:
    """The text cut into tokens of the kinds above; spaces are dropped."""
    found: list[Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        match = _DIGITS.match(text, pos)
        if match:
            found.append(Token(Kind.number, pos, match.end(), match.group()))
            pos = match.end()
            continue
        match = _LEXICON.pattern.match(text, pos)
        if match:
            word = _normal(match.group())
            kind = _LEXICON.kinds.get(word) or _LEXICON.kinds.get(word.removesuffix("nya"))
            found.append(Token(kind or Kind.other, pos, match.end(), match.group()))
            pos = match.end()
            continue
        match = _LATIN_WORD.match(text, pos)
        if match:
            found.append(Token(Kind.other, pos, match.end(), match.group()))
            pos = match.end()
            continue
        category = unicodedata.category(char)
        if char in _SENTENCE_END:
            found.append(Token(Kind.boundary, pos, pos + 1, char))
        elif category[0] in "PS":
            found.append(Token(Kind.punct, pos, pos + 1, char))
        elif found and found[-1].kind is Kind.other and found[-1].end == pos:
            found[-1] = Token(Kind.other, found[-1].start, pos + 1, text[found[-1].start : pos + 1])
        else:
            found.append(Token(Kind.other, pos, pos + 1, char))
        pos += 1
    return found


@dataclass(frozen=True)
class _Run:
    first: int  # token indexes, inclusive
    last: int


_IN_RUN = {Kind.number, Kind.weak, Kind.month}
_JOINS_NUMBERS = {"and"}  # "two thousand and five"


def _runs(found: list[Token]) -> Iterator[_Run]:
    """Stretches of numbers: number tokens with fillers, punctuation and date units between
    them; only stretches holding at least one real number count."""
    i = 0
    while i < len(found):
        if found[i].kind not in _IN_RUN:
            i += 1
            continue
        first = last = i
        j = i + 1
        while j < len(found):
            kind = found[j].kind
            if kind in _IN_RUN or kind is Kind.unit:
                last = j
            elif not _may_join(found, j):
                break
            j += 1
        if any(token.kind is Kind.number for token in found[first : last + 1]):
            yield _Run(first, last)
        i = last + 1


def _may_join(found: list[Token], j: int) -> bool:
    token = found[j]
    if token.kind in (Kind.filler, Kind.punct):
        return True
    return token.kind is Kind.boundary and token.text.casefold() in _JOINS_NUMBERS


def _label_before(found: list[Token], run: _Run) -> Kind | None:
    """The secret or identifier word labelling the run from before it, if any."""
    others = 0
    for token in reversed(found[: run.first]):
        if token.kind in (Kind.secret, Kind.identifier):
            return token.kind
        if token.kind in (Kind.boundary, *_IN_RUN):
            return None
        if token.kind is Kind.other:
            others += 1
            if others > _LOOSE_WINDOW:
                return None
    return None


def _label_after(found: list[Token], run: _Run) -> Kind | None:
    """A secret word right after the run, across fillers only ("4821 is my pin")."""
    for token in found[run.last + 1 :]:
        if token.kind in (Kind.secret, Kind.identifier):
            return token.kind
        if token.kind not in (Kind.filler, Kind.punct):
            return None
    return None


def _is_birth_date(found: list[Token], run: _Run, this_year: int) -> bool:
    """A whole date (a month, or a separated numeric date) with a year long enough ago."""
    parts = found[run.first : run.last + 1]
    dated = any(
        token.kind in (Kind.month, Kind.unit)
        or (token.kind is Kind.number and re.search(r"\d[/.\-]\d", token.text))
        for token in parts
    )
    if not dated:
        return False
    for token in parts:
        if token.kind is not Kind.number:
            continue
        if token.text.casefold() == "nineteen":
            return True
        for digits in re.findall(r"\d{4}", token.text):
            year = int(digits)
            # Thai callers may give the Buddhist-era year (543 years ahead).
            for offset in (0, 543):
                if 1900 + offset <= year <= this_year + offset - _BIRTH_YEAR_AGE:
                    return True
    return False


def _replace(text: str, found: list[Token], runs: Iterable[_Run]) -> str:
    pieces: list[str] = []
    pos = 0
    for run in runs:
        start, end = found[run.first].start, found[run.last].end
        pieces += [text[pos:start], REDACTED]
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


def redact_secrets(text: str, *, this_year: int | None = None) -> str:
    """The text with every number a secret word labels, and every whole date of birth,
    replaced by `REDACTED`; identifiers and other numbers kept."""
    year = this_year or date.today().year
    found = tokens(text)
    chosen = []
    for run in _runs(found):
        label = _label_before(found, run) or _label_after(found, run)
        if label is Kind.secret or (label is None and _is_birth_date(found, run, year)):
            chosen.append(run)
    return _replace(text, found, chosen)


def redact_all_numbers(text: str) -> str:
    """The text with every number in it (digits, number words, dates) replaced: for words
    said while a secret is expected, which may be that secret with no word to label it."""
    found = tokens(text)
    return _replace(text, found, list(_runs(found)))


def verification_expected(record: CallRecord) -> bool:
    """The caller is being asked for a secret: the app is collecting it, or the dialogue's
    verification form waits for its outcome (after the keypad prompt was given up, or the
    caller went back to waiting and talks again)."""
    return record.awaiting == "secret" or record.requested_slot in VERIFICATION_SLOTS
