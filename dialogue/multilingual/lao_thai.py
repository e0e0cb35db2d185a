"""Lao words written in Thai script, so the model's word features are shared with Thai.

Lao and Thai share much of their vocabulary (ເງິນ/เงิน "money", ໝົດ/หมด "finished",
ບັນຊີ/บัญชี is close), and Unicode laid the Lao block out in parallel with the Thai one, 0x80
apart, so a Lao word becomes its Thai-script spelling nearly letter for letter. The tokenizer
gives the featurizers this spelling of each Lao word: the Thai examples then teach the Lao
sentences too (cross-validation, dialogue/README.md "Lao words in Thai script"). Only the
tokens change; the message text, entity values and the sentence embedding keep the Lao.
"""

from __future__ import annotations

import re

_LAO_FIRST, _LAO_LAST = 0x0E81, 0x0ED9  # letters, vowels, marks and digits

# Each Lao character to its parallel Thai one, except where that is not the same letter (or
# is unassigned).
_TO_THAI = {code: chr(code - 0x80) for code in range(_LAO_FIRST, _LAO_LAST + 1)} | {
    0x0E8D: "ย",  # ຍ: Lao's y, Thai ย (its parallel, ญ, is Thai's rarer y)
    0x0EBB: "",  # ົ: no Thai letter (ຄົນ/คน); before ວ see below
    0x0EBC: "ล",  # ຼ: subscript l (ຫຼາຍ/หลาย)
    0x0EBD: "ย",  # ຽ: semivowel y
    0x0EDC: "หน",  # ໜ
    0x0EDD: "หม",  # ໝ
}
# ໍ is the vowel "o" of ບໍ່ and ຂໍ, written อ in Thai with the tone mark before it (บ่อ, ขอ).
_VOWEL_O = re.compile("\u0ecd([\u0ec8-\u0ecb]?)")


def in_thai_script(word: str) -> str:
    """`word` with every Lao letter, vowel and tone mark written in Thai script."""
    # Respelt in Lao as Thai writes it, then shifted across: ົວ as ັວ (ຕົວ/ตัว), ໍ as ອ.
    respelt = _VOWEL_O.sub("\\1\u0ead", word.replace("\u0ebb\u0ea7", "\u0eb1\u0ea7"))
    return respelt.translate(_TO_THAI)
