"""The held-out split (dialogue/nlu_split.py): a fixed fifth of each language's examples that
scripts/rasa-train never trains on, chosen by each example alone."""

from __future__ import annotations

from pathlib import Path

import yaml

from dialogue import nlu_split


def write_language(root: Path, language: str, intents: dict[str, list[str]]) -> None:
    folder = root / language
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "version": "3.1",
        "nlu": [
            {"intent": name, "examples": "".join(f"- {t}\n" for t in texts)}
            for name, texts in intents.items()
        ],
    }
    (folder / "data.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def examples_in(directory: Path) -> set[tuple[str, str, str]]:
    found = set()
    for path in directory.rglob("*.yml"):
        language = nlu_split.language_of(path, directory) or Path(path.stem).name
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu") or []:
            if "intent" in item:
                found |= {(language, item["intent"], t) for t in nlu_split.examples_of(item)}
    return found


def test_every_example_is_in_exactly_one_part_and_a_fifth_is_held_out(tmp_path: Path) -> None:
    nlu = tmp_path / "nlu"
    texts = [f"ขอคุยกับพนักงานคนที่ {i}" for i in range(200)]
    write_language(nlu, "th-TH", {"ask_human": texts})
    (nlu / "entities.yml").write_text("version: '3.1'\nnlu:\n- regex: x\n  examples: |\n    - a\n")
    counts = nlu_split.write(nlu, tmp_path / "train", tmp_path / "heldout")

    trained = examples_in(tmp_path / "train")
    held = examples_in(tmp_path / "heldout")
    assert trained.isdisjoint(held)
    assert trained | held == {("th-TH", "ask_human", t) for t in texts}
    assert counts == {"th-TH": len(held)}
    assert 25 <= len(held) <= 55  # a fifth of 200, give or take the hash
    # Shared files (patterns) go to training unchanged.
    assert (tmp_path / "train" / "entities.yml").read_text().count("regex") == 1


def test_adding_examples_never_moves_the_others_between_the_parts(tmp_path: Path) -> None:
    first = [f"saya mau bayar tagihan {i}" for i in range(60)]
    write_language(tmp_path / "before", "id-ID", {"make_payment": first})
    write_language(
        tmp_path / "after", "id-ID", {"make_payment": [*first, "bayar dong", "mau bayar"]}
    )
    _, held_before = nlu_split.split(tmp_path / "before")
    _, held_after = nlu_split.split(tmp_path / "after")
    before = {e.text for e in held_before["id-ID"]}
    after = {e.text for e in held_after["id-ID"]}
    assert before == after - {"bayar dong", "mau bayar"}


def test_the_same_text_in_two_languages_is_split_independently(tmp_path: Path) -> None:
    texts = [f"ok {i}" for i in range(100)]
    write_language(tmp_path, "en-US", {"affirm": texts})
    write_language(tmp_path, "id-ID", {"affirm": texts})
    _, held = nlu_split.split(tmp_path)
    assert {e.text for e in held["en-US"]} != {e.text for e in held["id-ID"]}


def test_an_intent_with_few_examples_keeps_them_all_for_training(tmp_path: Path) -> None:
    write_language(tmp_path, "lo-LA", {"greet": ["ສະບາຍດີ", "ສະບາຍດີເຈົ້າ", "ຫວັດດີ"]})
    _, held = nlu_split.split(tmp_path)
    assert held == {}
