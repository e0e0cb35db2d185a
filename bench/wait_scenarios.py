"""The contact centres the wait estimate is measured in: a steady day, a daily peak, a lunch
staffing dip, an outage burst, a two-agent team with 15-minute calls, impatient callers in
overload, shift changes with mixed call types, and a quiet line. Laws differ between them
(lognormal, gamma, mixtures; exponential, lognormal and Weibull patience) so no single one
is what the estimator assumes."""

from __future__ import annotations

import math
import random

from bench.wait_sim import Draw, Scenario


def lognormal(mean: float, sd: float) -> Draw:
    sigma2 = math.log(1 + (sd / mean) ** 2)
    mu, sigma = math.log(mean) - sigma2 / 2, math.sqrt(sigma2)
    return lambda rng: rng.lognormvariate(mu, sigma)


def gamma(mean: float, shape: float) -> Draw:
    return lambda rng: rng.gammavariate(shape, mean / shape)


def exponential(mean: float) -> Draw:
    return lambda rng: rng.expovariate(1 / mean)


def weibull(scale: float, shape: float) -> Draw:
    return lambda rng: rng.weibullvariate(scale, shape)


def shifted(fixed: float, rest: Draw) -> Draw:
    return lambda rng: fixed + rest(rng)


def mixture(*parts: tuple[float, Draw]) -> Draw:
    def draw(rng: random.Random) -> float:
        pick = rng.random()
        for share, law in parts:
            if pick < share:
                return law(rng)
            pick -= share
        return parts[-1][1](rng)

    return draw


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            name="steady",
            about="10 agents, 100 calls/h, lognormal 5-min talk, patience exp 5 min",
            hours=6,
            arrivals_per_hour=lambda h: 100,
            staffing=((0, 10),),
            talk=lognormal(300, 200),
            wrap=shifted(20, exponential(20)),
            patience=exponential(300),
            peak_arrivals_per_hour=100,
        ),
        Scenario(
            name="daily_peak",
            about="12 agents, arrivals 50 -> 150 -> 50 calls/h over the day",
            hours=8,
            arrivals_per_hour=lambda h: 50 + 100 * math.sin(math.pi * h / 8) ** 2,
            staffing=((0, 12),),
            talk=lognormal(280, 180),
            wrap=shifted(15, exponential(25)),
            patience=lognormal(420, 400),
            peak_arrivals_per_hour=150,
        ),
        Scenario(
            name="staffing_dip",
            about="12 agents, 115 calls/h; half of them at lunch for an hour from 1h30",
            hours=4.5,
            arrivals_per_hour=lambda h: 115,
            staffing=((0, 12), (1.5, 6), (2.5, 12)),
            talk=lognormal(300, 220),
            wrap=shifted(20, exponential(20)),
            patience=lognormal(900, 900),
            peak_arrivals_per_hour=115,
            disruption=True,
        ),
        Scenario(
            name="outage_burst",
            about="10 agents, 90 calls/h, 4x for 30 min from 1h30 (an outage), patience exp 15 min",
            hours=4.5,
            arrivals_per_hour=lambda h: 360 if 1.5 <= h < 2 else 90,
            staffing=((0, 10),),
            talk=lognormal(330, 200),
            wrap=shifted(20, exponential(20)),
            patience=exponential(900),
            peak_arrivals_per_hour=360,
            disruption=True,
        ),
        Scenario(
            name="small_team_long_calls",
            about="2 agents, 15-min gamma calls, 7 calls/h, lognormal patience (median 10 min)",
            hours=10,
            arrivals_per_hour=lambda h: 7,
            staffing=((0, 2),),
            talk=gamma(900, 2),
            wrap=shifted(30, exponential(60)),
            patience=lognormal(900, 900),
            peak_arrivals_per_hour=7,
            warm_up_hours=1,
        ),
        Scenario(
            name="impatient_overload",
            about="8 agents, 120 calls/h (overloaded), Weibull patience with 90 s scale",
            hours=5,
            arrivals_per_hour=lambda h: 120,
            staffing=((0, 8),),
            talk=lognormal(240, 150),
            wrap=shifted(10, exponential(15)),
            patience=weibull(90, 0.8),
            peak_arrivals_per_hour=120,
        ),
        Scenario(
            name="shift_changes",
            about="6 -> 12 -> 5 -> 9 agents, 70% 2-min and 30% 12-min calls, 110 calls/h",
            hours=6,
            arrivals_per_hour=lambda h: 110,
            staffing=((0, 6), (1.5, 12), (3, 5), (4, 9)),
            talk=mixture((0.7, lognormal(120, 60)), (0.3, lognormal(720, 300))),
            wrap=shifted(15, exponential(15)),
            patience=exponential(900),
            peak_arrivals_per_hour=110,
            disruption=True,
        ),
        Scenario(
            name="quiet_line",
            about="6 agents, 40 calls/h: most callers are answered at once",
            hours=6,
            arrivals_per_hour=lambda h: 40,
            staffing=((0, 6),),
            talk=lognormal(400, 250),
            wrap=shifted(20, exponential(20)),
            patience=exponential(300),
            peak_arrivals_per_hour=40,
        ),
    ]
}
