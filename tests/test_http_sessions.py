"""The keep-alive sessions the app lends to one request at a time."""

from __future__ import annotations

import threading

import pytest
import requests

from app.http_sessions import SessionPool


def test_a_returned_session_is_lent_again() -> None:
    pool = SessionPool()
    with pool.session() as first:
        pass
    with pool.session() as second:
        assert second is first
    pool.close_all()


def test_requests_at_once_never_share_a_session() -> None:
    pool = SessionPool()
    lent, both_in = [], threading.Barrier(2)

    def borrow() -> None:
        with pool.session() as session:
            lent.append(session)
            both_in.wait(timeout=5)

    threads = [threading.Thread(target=borrow) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(session) for session in lent}) == 2
    assert pool.idle == 2
    pool.close_all()
    assert pool.idle == 0


def test_sessions_beyond_the_idle_bound_are_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed: list[requests.Session] = []
    real_close = requests.Session.close

    def close(session: requests.Session) -> None:
        closed.append(session)
        real_close(session)

    monkeypatch.setattr(requests.Session, "close", close)
    pool = SessionPool(keep_idle=1)
    with pool.session() as first, pool.session() as second:
        pass
    # `second` came back first, `first` found the pool full.
    assert pool.idle == 1 and closed == [first]
    pool.close_all()
    assert closed == [first, second] and pool.idle == 0
