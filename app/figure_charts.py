"""Today's figures as charts for the operator page, by 15-minute interval: calls (answered,
abandoned, the rest) and the service level against its target. Only geometry is computed
here; the template draws it as inline SVG (no script, so the page's CSP stays strict)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.centre_figures import INTERVAL_MINUTES, Tally, Today

WIDTH = 640
HEIGHT = 150
_AXIS = 18  # room for the interval labels under the bars


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # answered | abandoned | other | level | level-missed
    title: str  # the figure itself, shown on hover and read by screen readers


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    bars: list[Bar]
    labels: list[tuple[float, str]]  # x, "HH:MM" under the first bar and every hour
    top_label: str  # what the top of the chart stands for
    target_y: float | None = None  # the service-level target's line
    width: int = WIDTH
    height: int = HEIGHT
    legend: list[tuple[str, str]] = field(default_factory=list)  # kind, words


def _minutes(at: str) -> int:
    hours, minutes = at.split(":")
    return int(hours) * 60 + int(minutes)


def _at(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _span(today: Today) -> list[tuple[str, Tally]]:
    """Every interval from the first with calls to the last, gaps as empty tallies."""
    if not today.intervals:
        return []
    have = dict(today.intervals)
    first, last = _minutes(today.intervals[0][0]), _minutes(today.intervals[-1][0])
    return [
        (_at(m), have.get(_at(m), Tally()))
        for m in range(first, last + INTERVAL_MINUTES, INTERVAL_MINUTES)
    ]


def day_charts(today: Today) -> list[Chart]:
    span = _span(today)
    if not span:
        return []
    slot = WIDTH / len(span)
    bar_width = max(1.0, slot * 0.8)
    plot = HEIGHT - _AXIS
    # The first interval and every hour are named under the bars.
    labels = [(i * slot, at) for i, (at, _) in enumerate(span) if i == 0 or at.endswith(":00")]
    most = max(t.calls for _, t in span) or 1
    calls: list[Bar] = []
    levels: list[Bar] = []
    for i, (at, tally) in enumerate(span):
        x = i * slot + (slot - bar_width) / 2
        base = float(plot)
        other = tally.calls - tally.answered - tally.abandoned
        for kind, count in (
            ("answered", tally.answered),
            ("abandoned", tally.abandoned),
            ("other", other),
        ):
            if count <= 0:
                continue
            height = plot * count / most
            base -= height
            calls.append(Bar(x, base, bar_width, height, kind, f"{at}: {count} {kind}"))
        level = tally.service_level
        if level is not None:
            kind = "level" if level >= today.target else "level-missed"
            height = max(1.0, plot * level)
            levels.append(
                Bar(x, plot - height, bar_width, height, kind, f"{at}: {level:.0%} in target")
            )
    within = today.answer_within_seconds
    return [
        Chart(
            id="calls",
            title="Calls by 15 minutes",
            bars=calls,
            labels=labels,
            top_label=f"{most} calls",
            legend=[
                ("answered", "answered"),
                ("abandoned", "abandoned"),
                ("other", "left, callback or short abandon"),
            ],
        ),
        Chart(
            id="service-level",
            title=f"Answered within {within} s, by 15 minutes",
            bars=levels,
            labels=labels,
            top_label="100%",
            target_y=plot * (1 - today.target),
            legend=[
                ("level", "met the target"),
                ("level-missed", "missed it"),
                ("target", f"target {today.target:.0%}"),
            ],
        ),
    ]
