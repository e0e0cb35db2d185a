"""Wiring: one place that builds the adapters (Redis, the queue scripts, the call store) and
the use cases on top, once per app. Views and jobs reach them through `get_services()`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis
from flask import Flask, current_app

from app.agent_desk import AgentDesk
from app.agents import AgentDirectory
from app.assistant import Assistant
from app.call_flow import CallFlow
from app.calls import CallStore
from app.customers import CustomerStore
from app.dialogue_client import RasaClient
from app.dispatch import Dispatcher
from app.handoff import HandoffFlow
from app.history import ContactHistory
from app.job_queue import JobQueue
from app.queue_service import QueueService
from app.settings import OperatorConfig, Settings
from app.stale_calls import StaleCallSweeper
from app.telephony import Telephony
from app.verification_limits import VerificationLimits
from app.wait_accuracy import WaitAccuracy

_EXTENSION = "queue_assistant"


@dataclass(frozen=True)
class Services:
    settings: Settings
    config: OperatorConfig
    redis: redis.Redis
    queue: QueueService
    calls: CallStore
    dialogue: RasaClient
    call_flow: CallFlow
    handoff: HandoffFlow
    agents: AgentDirectory
    agent_desk: AgentDesk
    history: ContactHistory
    jobs: JobQueue
    dispatcher: Dispatcher
    stale_calls: StaleCallSweeper
    wait_accuracy: WaitAccuracy


def connect_redis(url: str) -> redis.Redis:
    # Short timeouts: a webhook must answer Twilio well inside its 15 s, and a dead Redis
    # must show up in /healthz rather than hang it.
    return redis.Redis.from_url(
        url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
    )


def build_services(
    settings: Settings, config: OperatorConfig, clock: Callable[[], float]
) -> Services:
    client = connect_redis(settings.redis_url)
    queue = QueueService(client, clock=clock)
    calls = CallStore(client)
    assistant_settings = config.operator.assistant
    dialogue = RasaClient(
        settings.rasa_url,
        settings.rasa_token,
        budget_seconds=assistant_settings.turn_budget_seconds,
    )
    assistant = Assistant(
        dialogue,
        CustomerStore.from_file(settings.customers_file),
        calls,
        assistant_settings,
        VerificationLimits(client, assistant_settings.max_verification_attempts),
        clock,
    )
    agents = AgentDirectory.from_file(settings.agents_file, {q.name for q in config.queues.queues})
    history = ContactHistory(client, config.operator.agent_console.contact_history_days)
    jobs = JobQueue(client)
    telephony = Telephony(settings.account_sid, settings.auth_token, settings.twilio_api_base_url)
    call_flow = CallFlow(config, queue, calls, assistant, history, jobs, clock)
    accuracy = WaitAccuracy(client)
    return Services(
        settings=settings,
        config=config,
        redis=client,
        queue=queue,
        calls=calls,
        dialogue=dialogue,
        call_flow=call_flow,
        handoff=HandoffFlow(config, queue, calls, agents, jobs, accuracy, clock),
        agents=agents,
        agent_desk=AgentDesk(config, queue, calls, agents, history, jobs, clock),
        history=history,
        jobs=jobs,
        dispatcher=Dispatcher(queue, calls, agents, telephony, settings.base_url, clock),
        stale_calls=StaleCallSweeper(config, calls, call_flow, telephony, clock),
        wait_accuracy=accuracy,
    )


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = build_services(
        app.config["SETTINGS"], app.config["OPERATOR_CONFIG"], app.config["CLOCK"]
    )


def get_services() -> Services:
    return current_app.extensions[_EXTENSION]
