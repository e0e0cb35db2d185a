"""Dispatch under contention: several workers (threads, and real RQ worker processes) pair
callers with agents at once. No caller may go to two agents, no agent get two callers, and
the callers put through are the ones at the front."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import yaml
from flask import Flask, jsonify, request
from rq import Queue

from app.agents import AgentDirectory, hash_password
from app.bootstrap import Services, build_services
from app.job_queue import DISPATCH_QUEUE
from app.queue_service import AgentState, QueueService
from app.settings import (
    REPO_ROOT,
    AppEnv,
    OperatorConfig,
    QueueSettings,
    Settings,
    load_operator_config,
)
from standin import new_call_sid
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, process_environment
from tests.language_config import EN, TH, ZH, write_multilingual_files
from tests.loopback import serving

AGENTS = [f"agent{i:02d}" for i in range(30)]
CALLERS = 60


class RecordingTwilio:
    """Twilio's call update, on loopback: records every redirect (which call, which URL)."""

    def __init__(self) -> None:
        self.redirects: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        app = Flask(__name__)

        @app.post("/2010-04-01/Accounts/<account>/Calls/<sid>.json")
        def update(account: str, sid: str):
            if request.authorization is None or request.authorization.password != AUTH_TOKEN:
                return jsonify(code=20003, message="Authenticate", status=401), 401
            with self._lock:
                self.redirects.append((sid, request.form["Url"]))
            return jsonify(sid=sid, account_sid=account, status="in-progress")

        self.app = app
        self.url = ""  # once served (the fixture)


@pytest.fixture
def recording_twilio() -> Iterator[RecordingTwilio]:
    twilio = RecordingTwilio()
    with serving(twilio.app) as url:
        twilio.url = url
        yield twilio


@pytest.fixture(scope="module")
def agents_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    password_hash = hash_password("race-test-password")
    path = tmp_path_factory.mktemp("agents") / "agents.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "agents": [
                    {
                        "id": agent,
                        "name": agent,
                        "queue": "support",
                        "password_hash": password_hash,
                        "reach": {"client": agent},
                    }
                    for agent in AGENTS
                ]
            }
        )
    )
    return path


def worker_settings(redis_url: str, agents_file: Path, twilio_url: str) -> Settings:
    return Settings(
        _env_file=None,
        app_env=AppEnv.development,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        public_base_url=PUBLIC_BASE_URL,
        twilio_api_base_url=twilio_url,
        redis_url=redis_url,
        agents_file=agents_file,
    )


def queue_up(queue_service: QueueService, support: QueueSettings) -> list[str]:
    """Callers in ticket order, and every agent available."""
    sids = [new_call_sid() for _ in range(CALLERS)]
    for i, sid in enumerate(sids):
        queue_service.take_slot(support, sid, f"+1415555{i:04d}")
    for agent in AGENTS:
        queue_service.set_agent_state(support, agent, AgentState.available)
    return sids


def check_pairs(
    redirects: list[tuple[str, str]],
    sids: list[str],
    queue_service: QueueService,
    support: QueueSettings,
) -> None:
    calls = [sid for sid, _ in redirects]
    agents = [url.rsplit("agent=", 1)[1] for _, url in redirects]
    assert len(set(calls)) == len(calls), "a caller was put through to two agents"
    assert len(set(agents)) == len(agents), "an agent was given two callers"
    assert sorted(agents) == AGENTS
    assert set(calls) == set(sids[: len(AGENTS)]), "callers at the front go first"
    for sid, agent in zip(calls, agents, strict=True):
        position = queue_service.position(support, sid)
        assert position.agent_id == agent  # the queue agrees with what Twilio was told
        assert queue_service.agent(support, agent).call_sid == sid
    for sid in sids[len(AGENTS) :]:
        assert queue_service.position(support, sid).agent_id is None


def test_concurrent_dispatchers_never_double_assign(
    redis_client: redis.Redis,
    redis_url: str,
    agents_file: Path,
    recording_twilio: RecordingTwilio,
    operator_config: OperatorConfig,
    support: QueueSettings,
    clock,
) -> None:
    settings = worker_settings(redis_url, agents_file, recording_twilio.url)
    # Each "worker" with its own connections, as separate processes would have.
    workers = [build_services(settings, operator_config, clock) for _ in range(8)]
    sids = queue_up(workers[0].queue, support)
    dispatch_at_once(workers, support)
    check_pairs(recording_twilio.redirects, sids, workers[0].queue, support)
    for services in workers:
        services.close()


def test_two_rq_worker_processes_never_double_assign(
    redis_client: redis.Redis,
    redis_url: str,
    agents_file: Path,
    recording_twilio: RecordingTwilio,
    operator_config: OperatorConfig,
    support: QueueSettings,
    tmp_path: Path,
) -> None:
    # Real time here: the workers run on the system clock.
    queue_service = QueueService(redis_client)
    sids = queue_up(queue_service, support)
    jobs = Queue(DISPATCH_QUEUE, connection=redis_client)
    for _ in range(20):
        jobs.enqueue("app.jobs.dispatch_queue", "support")
    env = {"AGENTS_FILE": str(agents_file), "TWILIO_API_BASE_URL": recording_twilio.url}
    run_two_workers(redis_url, env, tmp_path, jobs)
    check_pairs(recording_twilio.redirects, sids, queue_service, support)


# -- several languages: a caller goes only to an agent who speaks their language -----------

LANGUAGE_OF_CALLER = [EN, EN, TH, TH, ZH]  # by caller number, in turn
LANGUAGES_OF_AGENT = [[EN], [TH], [EN, TH], [ZH, EN], [TH], [EN]]  # by agent number, in turn


@pytest.fixture(scope="module")
def language_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """operator.yml, queues.yml (support serving three languages) and an agents file whose
    agents speak a spread of them."""
    directory = tmp_path_factory.mktemp("languages")
    operator_file, queues_file = write_multilingual_files(directory)
    password_hash = hash_password("race-test-password")
    agents = [
        {
            "id": agent,
            "name": agent,
            "queue": "support",
            "languages": LANGUAGES_OF_AGENT[i % len(LANGUAGES_OF_AGENT)],
            "password_hash": password_hash,
            "reach": {"client": agent},
        }
        for i, agent in enumerate(AGENTS)
    ]
    agents_file = directory / "agents.yml"
    agents_file.write_text(yaml.safe_dump({"agents": agents}))
    return operator_file, queues_file, agents_file


def queue_up_in_languages(
    queue_service: QueueService, queue: QueueSettings, directory: AgentDirectory
) -> dict[str, str]:
    """Callers in ticket order, each in their language, and every agent available with the
    languages the agents file gives them. Returns each caller's language."""
    languages = {}
    for i in range(CALLERS):
        sid = new_call_sid()
        language = LANGUAGE_OF_CALLER[i % len(LANGUAGE_OF_CALLER)]
        queue_service.take_slot(queue, sid, f"+1415555{i:04d}", language=language)
        languages[sid] = language
    for agent in directory:
        queue_service.set_agent_state(queue, agent.id, AgentState.available, agent.languages)
    return languages


def check_language_pairs(
    redirects: list[tuple[str, str]],
    languages: dict[str, str],
    directory: AgentDirectory,
    queue_service: QueueService,
    queue: QueueSettings,
) -> None:
    calls = [sid for sid, _ in redirects]
    agents = [url.rsplit("agent=", 1)[1] for _, url in redirects]
    assert len(set(calls)) == len(calls), "a caller was put through to two agents"
    assert len(set(agents)) == len(agents), "an agent was given two callers"
    for sid, agent_id in zip(calls, agents, strict=True):
        agent = directory.get(agent_id)
        assert agent is not None and languages[sid] in agent.languages, (sid, agent_id)
        assert queue_service.position(queue, sid).agent_id == agent_id
    by_arrival = list(languages)  # dicts keep insertion order: ticket order
    for language in set(languages.values()):
        in_language = [sid for sid in by_arrival if languages[sid] == language]
        put_through = {sid for sid in calls if languages[sid] == language}
        # Fair within the language: the ones put through are its earliest callers.
        assert set(in_language[: len(put_through)]) == put_through, language
    snapshot = queue_service.snapshot(queue)
    for language, line in snapshot.languages.items():
        free_speakers = [
            agent
            for agent, state in snapshot.agents.items()
            if state is AgentState.available and language in snapshot.agent_languages[agent]
        ]
        # Nobody is left waiting while an agent who speaks their language is free.
        assert line.ready == 0 or not free_speakers, language


def test_concurrent_dispatchers_put_callers_through_only_to_speakers_of_their_language(
    redis_client: redis.Redis,
    redis_url: str,
    language_files: tuple[Path, Path, Path],
    recording_twilio: RecordingTwilio,
    clock,
) -> None:
    operator_file, queues_file, agents_file = language_files
    config = load_operator_config(operator_file, queues_file)
    queue = config.queue_named("support")
    settings = worker_settings(redis_url, agents_file, recording_twilio.url)
    workers = [build_services(settings, config, clock) for _ in range(8)]
    languages = queue_up_in_languages(workers[0].queue, queue, workers[0].agents)
    dispatch_at_once(workers, queue)
    assert recording_twilio.redirects, "nobody was put through"
    check_language_pairs(
        recording_twilio.redirects, languages, workers[0].agents, workers[0].queue, queue
    )
    for services in workers:
        services.close()


def test_rq_worker_processes_put_callers_through_only_to_speakers_of_their_language(
    redis_client: redis.Redis,
    redis_url: str,
    language_files: tuple[Path, Path, Path],
    recording_twilio: RecordingTwilio,
    tmp_path: Path,
) -> None:
    operator_file, queues_file, agents_file = language_files
    config = load_operator_config(operator_file, queues_file)
    queue = config.queue_named("support")
    queue_service = QueueService(redis_client)  # real time: the workers' clock
    directory = AgentDirectory.from_file(agents_file, config)
    languages = queue_up_in_languages(queue_service, queue, directory)
    jobs = Queue(DISPATCH_QUEUE, connection=redis_client)
    for _ in range(20):
        jobs.enqueue("app.jobs.dispatch_queue", "support")
    env = {
        "AGENTS_FILE": str(agents_file),
        "OPERATOR_FILE": str(operator_file),
        "QUEUES_FILE": str(queues_file),
        "TWILIO_API_BASE_URL": recording_twilio.url,
    }
    run_two_workers(redis_url, env, tmp_path, jobs)
    check_language_pairs(recording_twilio.redirects, languages, directory, queue_service, queue)


def run_two_workers(redis_url: str, env: dict[str, str], tmp_path: Path, jobs: Queue) -> None:
    """Two real RQ worker processes drain the dispatch jobs at once (burst mode); both must
    finish cleanly with no failed job."""
    env = process_environment(redis_url, env)
    rq = [Path(sys.executable).with_name("rq"), "worker", "--burst", "--url", redis_url]
    rq += ["--worker-class", "app.worker.AppWorker", DISPATCH_QUEUE]
    logs_out = [(tmp_path / f"worker-{i}.log").open("w") for i in range(2)]
    workers = [
        subprocess.Popen(
            [*map(str, rq), "--name", f"race-{tmp_path.name}-{i}"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        for i, out in enumerate(logs_out)
    ]
    codes = [worker.wait(timeout=120) for worker in workers]
    for out in logs_out:
        out.close()
    logs = "\n".join(p.read_text() for p in sorted(tmp_path.glob("worker-*.log")))
    assert codes == [0, 0], logs
    assert jobs.failed_job_registry.count == 0, logs


def dispatch_at_once(workers: list[Services], queue: QueueSettings) -> None:
    """Every worker dispatches `queue` at the same moment (a barrier), each in its own
    thread with its own connections; none may fail."""
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def work(services: Services) -> None:
        try:
            barrier.wait()
            services.dispatcher.dispatch(queue)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
