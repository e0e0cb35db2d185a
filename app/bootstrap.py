"""Wiring: the one place that builds the adapters (Redis, the queue scripts, the call store,
Rasa's client, Twilio's REST client) and the use cases on top, once per app. Web views and
worker jobs both reach them through `get_services()` (the worker runs its jobs inside the
app: `app.worker`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast
from zoneinfo import ZoneInfo

import redis
from flask import Flask, current_app

from app.agent_desk import AgentDesk
from app.agent_sessions import AgentSessions
from app.agents import AgentDirectory
from app.arrival import Arrival
from app.assistant import Assistant
from app.call_end import CallEnd
from app.callback_calls import CallbackCalls, CallbackOutcomes
from app.callback_request import CallbackRequests
from app.calls import CallStore
from app.centre_figures import CentreFigures
from app.clock import Clock
from app.cluster_client import ClosingRedisCluster
from app.conversation import Conversation
from app.customers import CustomerStore
from app.dialogue_client import RasaClient
from app.dialogue_slots import TurnSlots, slots_per_process
from app.dispatch import Dispatcher
from app.handoff import AgentHandoff
from app.history import ContactHistory
from app.job_queue import JobQueue
from app.language_choice import LanguageChoice
from app.outage import Resumption
from app.queue_service import QueueService
from app.rest_faults import RestFaults
from app.settings import OperatorConfig, Settings
from app.stale_calls import StaleCallSweeper
from app.telephony import Telephony
from app.verification_limits import VerificationLimits
from app.wait_accuracy import WaitAccuracy
from app.wait_loop import WaitLoop

_EXTENSION = "queue_assistant"
_RETIRED = "queue_assistant_retired"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    settings: Settings
    config: OperatorConfig
    redis: redis.Redis
    queue: QueueService
    calls: CallStore
    dialogue: RasaClient
    telephony: Telephony
    rest_faults: RestFaults
    arrival: Arrival
    conversation: Conversation
    wait_loop: WaitLoop
    language_choice: LanguageChoice
    resumption: Resumption
    call_end: CallEnd
    handoff: AgentHandoff
    agents: AgentDirectory
    agent_desk: AgentDesk
    agent_sessions: AgentSessions
    history: ContactHistory
    jobs: JobQueue
    dispatcher: Dispatcher
    stale_calls: StaleCallSweeper
    wait_accuracy: WaitAccuracy
    figures: CentreFigures
    callback_requests: CallbackRequests
    callback_calls: CallbackCalls
    callback_outcomes: CallbackOutcomes

    def close(self) -> None:
        """Close what the services opened: Redis's pool, the HTTP sessions to Rasa and
        Twilio."""
        self.dialogue.close()
        self.telephony.close()
        self.redis.close()
        self.jobs.close()


def connect_redis(url: str, cluster: bool = False) -> redis.Redis:
    """The app's Redis, or with `cluster` a Redis Cluster client found from `url`'s node.
    Every multi-key command and script of the app keeps its keys in one hash-tag slot, so
    the cluster client serves the same calls (typed as `redis.Redis` for that reason)."""
    # Short timeouts: a webhook must answer Twilio well inside its 15 s, and a dead Redis
    # must show up in /healthz rather than hang it.
    if cluster:
        return cast(
            redis.Redis,
            ClosingRedisCluster.from_url(url, socket_timeout=2, socket_connect_timeout=2),
        )
    return redis.Redis.from_url(
        url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
    )


def reconcile_queues(settings: Settings, config: OperatorConfig, clock: Clock) -> set[str]:
    """Bring each queue's keys in line with the languages queues.yml gives it now (a language
    removed or added since the last start, callers and agents from before languages), on a
    connection of its own closed when done. Returns the queues reconciled: with Redis down
    the process still starts, and the others are reconciled on their first use."""
    done: set[str] = set()
    client = connect_redis(settings.redis_url, settings.redis_cluster)
    try:
        service = QueueService(client, clock=clock)
        for queue in config.queues.queues:
            service.reconcile(queue)
            done.add(queue.name)
    except redis.RedisError as exc:
        log.warning("queues not reconciled at start (Redis: %s): done on first use", exc)
    finally:
        client.close()
    return done


APP_PART_OF_A_TURN_SECONDS = 0.1


def build_services(settings: Settings, config: OperatorConfig, clock: Clock) -> Services:
    client = connect_redis(settings.redis_url, settings.redis_cluster)
    jobs_client = (
        connect_redis(settings.jobs_url) if settings.jobs_url != settings.redis_url else client
    )
    queue = QueueService(client, clock=clock, reconciled=reconcile_queues(settings, config, clock))
    calls = CallStore(client)
    assistant_settings = config.operator.assistant
    # The caller's silence is the whole webhook: Rasa gets the budget less the app's own
    # part of a turn (reading and saving the call, the TwiML: p95 about 40 ms at 64 turns in
    # flight in bench/run-dialogue-capacity).
    budget = max(
        assistant_settings.turn_budget_seconds - APP_PART_OF_A_TURN_SECONDS,
        assistant_settings.turn_budget_seconds / 2,
    )
    dialogue = RasaClient(
        settings.rasa_servers,
        settings.rasa_token,
        budget_seconds=budget,
        slots=TurnSlots(client, slots_per_process(settings.rasa_turns_per_second, budget), budget),
    )
    assistant = Assistant(
        dialogue,
        CustomerStore.from_file(settings.customers_file),
        calls,
        assistant_settings,
        VerificationLimits(
            client,
            assistant_settings.max_verification_attempts,
            assistant_settings.max_verification_failures_per_account,
        ),
        clock,
    )
    agents = AgentDirectory.from_file(settings.agents_file, config)
    history = ContactHistory(client, config.operator.agent_console.contact_history_days)
    jobs = JobQueue(jobs_client)
    rest_faults = RestFaults(client, clock)
    telephony = Telephony(
        settings.account_sid, settings.auth_token, settings.twilio_api_base_url, rest_faults
    )
    accuracy = WaitAccuracy(client)
    arrival = Arrival(config, queue, calls, history, jobs, clock)
    wait_loop = WaitLoop(config, queue, calls, arrival, clock)
    figures = CentreFigures(client, ZoneInfo(config.operator.timezone))
    call_end = CallEnd(config, queue, calls, history, figures, clock)
    handoff = AgentHandoff(config, queue, calls, agents, jobs, accuracy, clock)
    callback_requests = CallbackRequests(config, queue, calls, clock)
    callback_outcomes = CallbackOutcomes(client)
    callback_calls = CallbackCalls(
        config,
        queue,
        calls,
        history,
        handoff,
        call_end,
        telephony,
        jobs,
        callback_outcomes,
        settings.base_url,
        clock,
    )
    conversation = Conversation(
        config, queue, calls, assistant, arrival, wait_loop, callback_requests, clock
    )
    return Services(
        settings=settings,
        config=config,
        redis=client,
        queue=queue,
        calls=calls,
        dialogue=dialogue,
        telephony=telephony,
        rest_faults=rest_faults,
        arrival=arrival,
        conversation=conversation,
        wait_loop=wait_loop,
        language_choice=LanguageChoice(config, queue, calls, history, arrival, jobs, clock),
        resumption=Resumption(config, queue, calls, wait_loop),
        call_end=call_end,
        handoff=handoff,
        agents=agents,
        agent_desk=AgentDesk(config, queue, calls, agents, history, jobs, clock),
        agent_sessions=AgentSessions(client, config.operator.agent_console, clock),
        history=history,
        jobs=jobs,
        dispatcher=Dispatcher(
            queue, calls, agents, telephony, callback_calls, settings.base_url, clock
        ),
        stale_calls=StaleCallSweeper(config, calls, call_end, telephony, clock),
        wait_accuracy=accuracy,
        figures=figures,
        callback_requests=callback_requests,
        callback_calls=callback_calls,
        callback_outcomes=callback_outcomes,
    )


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = build_services(
        app.config["SETTINGS"], app.config["OPERATOR_CONFIG"], app.config["CLOCK"]
    )


def replace_config(app: Flask, config: OperatorConfig) -> None:
    """Serve from now on with `config` (already validated): new services built on it; the
    ones they replace are closed at the next replacement, when no request still uses them."""
    services = build_services(app.config["SETTINGS"], config, app.config["CLOCK"])
    retired: Services | None = app.extensions.get(_RETIRED)
    app.extensions[_RETIRED] = app.extensions[_EXTENSION]
    app.extensions[_EXTENSION] = services
    app.config["OPERATOR_CONFIG"] = config
    if retired is not None:
        retired.close()


def close_services(app: Flask) -> None:
    """Close the services in use and any retired ones (tests, process exit)."""
    for key in (_EXTENSION, _RETIRED):
        services: Services | None = app.extensions.pop(key, None)
        if services is not None:
            services.close()


def get_services() -> Services:
    services: Services = current_app.extensions[_EXTENSION]
    return services
