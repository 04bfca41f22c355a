"""Charts drawn on the server as SVG shapes: no chart library, no build step, and no inline script
or style for the console's CSP to allow. Each function turns figures into coordinates; the
templates only place them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The sentiment labels stacked bottom to top, with their colours (also in the legend).
STACK = (("negative", "#c53030"), ("mixed", "#d69e2e"), ("neutral", "#a0aec0"), ("positive", "#2f855a"))


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str  # what a screen reader and a hover say of it


def volume_bars(days: Sequence[Mapping[str, Any]], width: int = 640, height: int = 160) -> dict[str, Any]:
    """Inbound volume per day, stacked by sentiment, one bar per day (oldest left), and the
    outbound volume as a line over them. `days`: rows with `date`, `inbound`, `outbound` and the
    sentiment counts, one per day (channels already summed)."""
    if not days:
        return {"bars": [], "outbound": "", "width": width, "height": height, "top": 0}
    top = max(max(int(day["inbound"]), int(day["outbound"])) for day in days) or 1
    slot = width / len(days)
    bars: list[Bar] = []
    points = []
    for index, day in enumerate(days):
        x = index * slot + slot * 0.1
        base = float(height)
        unlabelled = int(day["inbound"]) - sum(int(day[label]) for label, _ in STACK)
        for label, colour in ((("unanalysed", "#e2e8f0"),) if unlabelled > 0 else ()) + STACK:
            amount = unlabelled if label == "unanalysed" else int(day[label])
            if amount <= 0:
                continue
            tall = amount / top * height
            base -= tall
            bars.append(
                Bar(
                    round(x, 1),
                    round(base, 1),
                    round(slot * 0.8, 1),
                    round(tall, 1),
                    colour,
                    f"{day['date']}: {amount} {label}",
                )
            )
        points.append(f"{round(index * slot + slot / 2, 1)},{round(height - int(day['outbound']) / top * height, 1)}")
    return {"bars": bars, "outbound": " ".join(points), "width": width, "height": height, "top": top}


def line(values: Sequence[float | None], width: int = 640, height: int = 120) -> dict[str, Any]:
    """A line through the values that exist (a day without a figure leaves a gap in x, not a zero)."""
    known = [value for value in values if value is not None]
    top = max(known) if known else 0
    if not known or top <= 0:
        return {"points": "", "dots": [], "width": width, "height": height, "top": top}
    slot = width / len(values)
    dots = [
        (round(index * slot + slot / 2, 1), round(height - value / top * (height - 4) - 2, 1))
        for index, value in enumerate(values)
        if value is not None
    ]
    return {"points": " ".join(f"{x},{y}" for x, y in dots), "dots": dots, "width": width, "height": height, "top": top}
