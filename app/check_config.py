"""`python -m app.check_config`: validate the environment and the operator's YAML, and say
what would run. Exit status 2 with a message naming the file and field when invalid."""

from __future__ import annotations

import sys

from app.recordings import clips_of
from app.settings import SettingsError, load_operator_config, load_settings


def main() -> int:
    try:
        settings = load_settings()
        config = load_operator_config(settings.operator_file, settings.queues_file)
    except SettingsError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    print(f"configuration OK ({settings.app_env.value}): {config.operator.company}")
    for queue in config.queues.queues:
        numbers = ", ".join(queue.numbers) or "(no numbers)"
        default = " [default]" if queue.name == config.queues.default_queue else ""
        languages = ", ".join(queue.languages)
        print(f"  queue {queue.name}{default}: {numbers}; languages {languages}")
    for code, lang in config.operator.languages.items():
        if lang.voice is None:
            clips = len({clip.clip for clip in clips_of(lang)})
            base = lang.recordings.base_url if lang.recordings else ""
            print(f"  language {code}: recordings, {clips} clips from {base}")
        else:
            print(f"  language {code}: voice {lang.voice} (<Say language> {lang.say_language})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
