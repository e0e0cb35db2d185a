"""Lao words written in Thai script, so the model's word features are shared with Thai.

Lao and Thai share much of their vocabulary (ເງິນ/เงิน "money", ໝົດ/หมด "finished",
ບັນຊີ/บัญชี is close), and Unicode laid the Lao block out in parallel with the Thai one, 0x80
apart, so a Lao word becomes its Thai-script spelling nearly letter for letter. The tokenizer
gives the featurizers this spelling of each Lao word: the Thai examples then teach the Lao
sentences too (cross-validation, dialogue/README.md "Lao words in Thai script"). Only the
tokens change; the message text, entity values and the sentence embedding keep the Lao.
"""

from __future__ import annotations

_LAO_FIRST, _LAO_LAST = 0x0E81, 0x0ED9  # letters, vowels, marks and digits
_TONE_MARKS = "\u0ec8\u0ec9\u0eca\u0ecb"  # ່ ້ ໊ ໋
_NIGGAHITA = "\u0ecd"  # ໍ: the vowel "o" of ບໍ່, ຂໍ, written อ in Thai (บ่อ, ขอ)
_MAI_KON = "\u0ebb"  # ົ: no Thai letter; written ั before ว (ຕົວ/ตัว), else nothing (ຄົນ/คน)

# Where the parallel Thai code point is not the same letter (or is unassigned).
_SPECIAL = {
    "\u0e8d": "ย",  # ຍ: Lao's y, Thai ย (its parallel, ญ, is Thai's rarer y)
    "\u0ebc": "ล",  # ຼ: subscript l (ຫຼາຍ/หลาย)
    "\u0ebd": "ย",  # ຽ: semivowel y
    "\u0edc": "หน",  # ໜ
    "\u0edd": "หม",  # ໝ
}


def in_thai_script(word: str) -> str:
    """`word` with every Lao letter, vowel and tone mark written in Thai script."""
    out: list[str] = []
    i = 0
    while i < len(word):
        ch = word[i]
        after = word[i + 1] if i + 1 < len(word) else ""
        if ch == _NIGGAHITA:
            # Thai writes the tone mark on the consonant before อ: ບໍ່ -> บ่อ.
            if after and after in _TONE_MARKS:
                out.append(_shifted(after))
                i += 1
            out.append("อ")
        elif ch == _MAI_KON:
            out.append("ั" if after == "ວ" else "")
        elif ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif _LAO_FIRST <= ord(ch) <= _LAO_LAST:
            out.append(_shifted(ch))
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _shifted(ch: str) -> str:
    return chr(ord(ch) - 0x80)
