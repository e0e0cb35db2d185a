"""Custom actions for the queue assistant's dialogue (Rasa SDK 3.6).

One module per concern; everything outside the dialogue (the customer file, Redis) is reached
through `actions.api`. Actions hold logic only: every sentence the caller hears is a response
in `dialogue/domain.yml`, picked by name.

The action server imports every module of this package (`rasa run actions --actions actions`
from `dialogue/`), so importing a module must have no side effects: files and Redis are opened
on first use.
"""
