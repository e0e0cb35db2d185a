"""An open-loop HTTP load: requests sent at a set rate (Poisson arrivals, as independent
callers' wait loops are) whatever the server's answers, each on its own connection as a
webhook comes. Latency counts from when a request was due, not when it could be sent, so a
generator or server that falls behind shows in the figures instead of hiding in them
(no coordinated omission)."""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.measure import percentile

# A request not answered by then counts as failed; the run does not wait for it further.
REQUEST_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class RateResult:
    rate: float  # asked for, requests per second
    sent: int
    seconds: float  # from the first request due to the last answer
    latencies_ms: list[float]  # sorted, answered with the expected status
    errors: dict[str, int]  # what went wrong, how often
    late_ms: float  # the most a request was sent after it was due (the generator's lag)

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def p(self, fraction: float) -> float:
        """A percentile of all requests, a failed one counting as slower than any answer."""
        return percentile([*self.latencies_ms, *[float("inf")] * self.failed], fraction)

    @property
    def achieved(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


def form_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The bytes of one form POST, ready to send again and again."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _one(host: str, port: int, payload: bytes, expect: bytes) -> str | None:
    """Send one request and read the whole answer; what went wrong, or None."""
    writer = None
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(payload)
        answer = await reader.read()
    except OSError as exc:
        return type(exc).__name__
    finally:
        if writer is not None:
            writer.close()
    status = answer.split(b"\r\n", 1)[0]
    if not status.startswith(b"HTTP/1.1 200"):
        return status.decode(errors="replace") or "no answer"
    return None if expect in answer else "unexpected body"


async def _run(
    host: str,
    port: int,
    payloads: Sequence[bytes],
    rate: float,
    seconds: float,
    seed: int,
    expect: bytes,
) -> RateResult:
    rng = random.Random(seed)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    late = 0.0

    async def timed(due: float, payload: bytes) -> None:
        try:
            problem = await asyncio.wait_for(
                _one(host, port, payload, expect), REQUEST_TIMEOUT_SECONDS
            )
        except TimeoutError:
            problem = "timeout"
        if problem is None:
            latencies.append((time.perf_counter() - due) * 1000)
        else:
            errors[problem] = errors.get(problem, 0) + 1

    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter()
    due = start
    end = start + seconds
    while True:
        due += rng.expovariate(rate)
        if due >= end:
            break
        now = time.perf_counter()
        if due > now:
            await asyncio.sleep(due - now)
        late = max(late, time.perf_counter() - due)
        tasks.append(asyncio.create_task(timed(due, rng.choice(payloads))))
    await asyncio.gather(*tasks)
    return RateResult(
        rate=rate,
        sent=len(tasks),
        seconds=time.perf_counter() - start,
        latencies_ms=sorted(latencies),
        errors=errors,
        late_ms=late * 1000,
    )


def run_at_rate(
    host: str,
    port: int,
    payloads: Sequence[bytes],
    rate: float,
    seconds: float,
    *,
    seed: int = 1,
    expect: bytes = b"",
) -> RateResult:
    """Send random picks of `payloads` at `rate` a second for `seconds`; each answer must be
    200 with `expect` in it."""
    # A collection of the many tasks' garbage would stall the sending for tens of ms.
    gc.collect()
    gc.disable()
    try:
        return asyncio.run(_run(host, port, payloads, rate, seconds, seed, expect))
    finally:
        gc.enable()
