"""Crisis detection: negative interactions per brand in time buckets, against the brand's own
recent normal.

Every run recounts the current bucket and the one before it (interactions are stored a little
after they happen), keeps the counts of the last `baseline_hours`, and compares both of those
buckets with the ones before them (a burst late in a bucket is judged once that bucket is past):
z = (count - mean) / spread, where the spread is at least sqrt(mean) and 1, so
a brand that is usually silent does not cry crisis at its third complaint. An episode starts when
z reaches `z_threshold` with at least `min_count` negatives (one `Crisis Alert`), and ends when a
bucket is back under `calm_z`; only then can a new episode (and alert) begin.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from chalicelib.rules.routing import CrisisSettings

RECOUNTED_BUCKETS = 2


@dataclass(frozen=True)
class CrisisState:
    brand: str
    counts: dict[datetime, int] = field(default_factory=dict)  # bucket start -> negatives
    episode_started_at: datetime | None = None
    episodes: int = 0
    version: int = 0


@dataclass(frozen=True)
class Reading:
    bucket_start: datetime
    bucket_end: datetime
    count: int
    mean: float
    stdev: float
    z: float


@dataclass(frozen=True)
class Step:
    state: CrisisState
    reading: Reading
    started: bool  # a new episode: raise the alert
    ended: bool


def bucket_start(moment: datetime, minutes: int) -> datetime:
    moment = moment.astimezone(UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = int((moment - midnight).total_seconds() // 60)
    return midnight + timedelta(minutes=elapsed - elapsed % minutes)


def recount_since(now: datetime, settings: CrisisSettings, fresh: bool) -> datetime:
    """From when a run must count: the whole baseline for a brand seen for the first time, else
    the last RECOUNTED_BUCKETS buckets."""
    current = bucket_start(now, settings.bucket_minutes)
    if fresh:
        return current - timedelta(hours=settings.baseline_hours)
    return current - timedelta(minutes=settings.bucket_minutes * (RECOUNTED_BUCKETS - 1))


def step(
    state: CrisisState,
    recounted: Mapping[datetime, int],
    since: datetime,
    now: datetime,
    settings: CrisisSettings,
) -> Step:
    """Fold a recount of the buckets from `since` to now into the state and judge the current one."""
    size = timedelta(minutes=settings.bucket_minutes)
    current = bucket_start(now, settings.bucket_minutes)
    oldest = current - timedelta(hours=settings.baseline_hours)
    counts = {start: n for start, n in state.counts.items() if oldest <= start < since}
    start = bucket_start(since, settings.bucket_minutes)
    while start <= current:
        counts[start] = int(recounted.get(start, 0))
        start += size
    # The baseline leaves out the two buckets being judged: the current one and the one before,
    # since a run every few minutes sees a burst late in a bucket only once that bucket is past.
    previous = current - size
    history = [counts.get(oldest + size * i, 0) for i in range(int((previous - oldest) / size))]
    mean = statistics.fmean(history) if history else 0.0
    stdev = statistics.pstdev(history) if len(history) > 1 else 0.0
    spread = max(stdev, math.sqrt(mean), 1.0)
    readings = [
        Reading(bucket, bucket + size, counts.get(bucket, 0), mean, stdev, (counts.get(bucket, 0) - mean) / spread)
        for bucket in (previous, current)
    ]
    alarming = [r for r in readings if r.z >= settings.z_threshold and r.count >= settings.min_count]
    reading = alarming[-1] if alarming else readings[-1]
    started = ended = False
    episode, episodes = state.episode_started_at, state.episodes
    if episode is None and alarming:
        episode, episodes, started = reading.bucket_start, episodes + 1, True
    elif episode is not None and max(r.z for r in readings) < settings.calm_z:
        # Over only when the last whole bucket is calm too: a bucket that has just begun always is.
        episode, ended = None, True
    kept = {start: n for start, n in counts.items() if n}  # zeros are implied
    return Step(replace(state, counts=kept, episode_started_at=episode, episodes=episodes), reading, started, ended)
