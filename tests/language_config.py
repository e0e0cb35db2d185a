"""Operator files for tests of a number serving several languages: the project's own
operator.yml with Thai and Mandarin (Taiwan) added, and the support queue serving English,
Thai and Mandarin. Only the sentences the tests listen for are translated; the rest repeat
the English, which is enough to tell the languages apart."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from app.settings import QUEUE_DIR, OperatorConfig, Settings, load_operator_config

EN, TH, ZH = "en-US", "th-TH", "cmn-Hant-TW"
LANGUAGES = [EN, TH, ZH]

_THAI: dict[str, Any] = {
    "voice": "Google.th-TH-Standard-A",
    "day_names": ["วันจันทร์", "วันอังคาร", "วันพุธ", "วันพฤหัสบดี", "วันศุกร์", "วันเสาร์", "วันอาทิตย์"],
    "human_words": ["พนักงาน", "คุยกับคน"],
    "speech_hints": ["พนักงาน"],
    "reason_names": {"technical": "ปัญหาทางเทคนิค", "billing": "ค่าบริการ"},
    "language_names": {"en-US": "ภาษาอังกฤษ", "th-TH": "ภาษาไทย", "cmn-Hant-TW": "ภาษาจีนกลาง"},
    "prompts": {
        "greeting": "สวัสดีค่ะ ดิฉันเป็นผู้ช่วยอัตโนมัติของ {company}",
        "place_guaranteed": "รับรองว่าคุณจะไม่เสียคิวค่ะ",
        "people_ahead": {"zero": "คุณเป็นคิวถัดไปค่ะ", "other": "มีผู้รออยู่ก่อนคุณ {count} คน"},
        "wait_menu": "กด 1 เพื่อคุยกับผู้ช่วย หรือกด 0 เพื่อคุยกับพนักงาน",
        "language_option": "กด {key} สำหรับภาษาไทย",
        "language_switch": "หากต้องการเปลี่ยนภาษา กด {key}",
        "language_switched": "ต่อจากนี้จะพูดภาษาไทยค่ะ",
        "whisper_verified": "ลูกค้ายืนยันตัวตนแล้ว คุณ{name}",
        "whisper_not_verified": "ลูกค้ายังไม่ได้ยืนยันตัวตน",
        "whisper_reason": "โทรมาเรื่อง{reason}",
        "whisper_no_reason": "ไม่ได้แจ้งเรื่องที่โทรมา",
        "whisper_waited": {"other": "รอสาย {count} นาที"},
        "whisper_language": "ลูกค้าพูด{language}",
    },
}

_MANDARIN: dict[str, Any] = {
    "voice": "Google.cmn-TW-Standard-A",
    "day_names": ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"],
    "human_words": ["客服", "真人"],
    "speech_hints": ["客服"],
    "reason_names": {"technical": "技術問題"},
    "prompts": {
        "greeting": "您好 我是{company}的虛擬助理。",
        "people_ahead": {"zero": "下一位就是您。", "other": "您前面還有{count}位。"},
        "language_option": "國語請按{key}。",
        "language_switch": "更換語言請按{key}。",
        "language_switched": "接下來我會說國語。",
        "whisper_not_verified": "來電者尚未驗證。",
        "whisper_reason": "來電事由 {reason}。",
        "whisper_waited": {"other": "等候{count}分鐘。"},
    },
}


def _language(english: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    language = copy.deepcopy(english)
    language.update({k: v for k, v in own.items() if k != "prompts"})
    language["prompts"].update(own["prompts"])
    language.pop("time_format", None)
    return language


def write_multilingual_files(directory: Path) -> tuple[Path, Path]:
    """operator.yml and queues.yml in `directory`; the support queue serves LANGUAGES."""
    operator = yaml.safe_load((QUEUE_DIR / "operator.yml").read_text(encoding="utf-8"))
    english = operator["languages"][EN]
    operator["languages"][TH] = _language(english, _THAI)
    operator["languages"][ZH] = _language(english, _MANDARIN)
    queues = yaml.safe_load((QUEUE_DIR / "queues.yml").read_text(encoding="utf-8"))
    queues["queues"][0]["languages"] = LANGUAGES
    operator_file, queues_file = directory / "operator.yml", directory / "queues.yml"
    operator_file.write_text(yaml.safe_dump(operator, allow_unicode=True), encoding="utf-8")
    queues_file.write_text(yaml.safe_dump(queues, allow_unicode=True), encoding="utf-8")
    return operator_file, queues_file


def multilingual_config(directory: Path) -> OperatorConfig:
    return load_operator_config(*write_multilingual_files(directory))


def multilingual_settings(settings: Settings, directory: Path, **changes: Any) -> Settings:
    """The tests' settings with the multilingual operator files (and any other `changes`)."""
    operator_file, queues_file = write_multilingual_files(directory)
    return settings.model_copy(
        update={"operator_file": operator_file, "queues_file": queues_file} | changes
    )
