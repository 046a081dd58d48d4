"""Request and response bodies of the API (pydantic; they make the OpenAPI document).

Times go out as ISO 8601 with the machine's zone offset; times coming in must carry a
zone (``2026-11-21T08:00:00+01:00`` or ``…Z``) so a phone in another zone cannot be
misread.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from attune.api.tags import LABEL_MAX_CHARS, NOTE_MAX_CHARS


def _zoned(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("give the time with its zone, e.g. 2026-11-21T08:00:00+01:00 or …Z")
    if not (1970 <= value.year <= 9000):
        raise ValueError("time out of range")
    return value


ZonedTime = Annotated[datetime, AfterValidator(_zoned)]

ConnectionState = Literal["connected", "reconnecting", "disconnected", "not_recording"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Device(BaseModel):
    address: str
    name: str | None = None
    model: str | None = None
    body_location: str | None = None


class Calibration(BaseModel):
    done: bool
    progress: float = Field(ge=0, le=1, description="share of the baseline gathered, 0..1")
    message: str | None = None


class Status(BaseModel):
    mode: Literal["live", "stored"] = Field(description="live: recording in this process; stored: serving recorded data")
    connection: ConnectionState
    device: Device | None = None
    motion: bool | None = Field(
        None, description="whether the strap gives motion (accelerometer or cadence); null: not known")
    battery_pct: int | None = None
    contact: bool | None = None
    last_beat_at: datetime | None = None
    last_beat_age_s: float | None = None
    hr_bpm: float | None = Field(None, description="heart rate over the last few beats")
    score: float | None = Field(None, description="activation score of the latest tick")
    state: str | None = Field(None, description="settled | activated | recovering | …")
    state_words: str | None = Field(None, description="the state in plain words")
    calibration: Calibration
    recording: bool | None = Field(
        None, description="live mode: whether beats are being stored right now (false: see recording_error)")
    recording_error: str | None = Field(None, description="why storing fails (disk full …); retried meanwhile")
    now: datetime


class StateSpan(BaseModel):
    state: str
    start: datetime
    end: datetime


class TagOut(BaseModel):
    label: str
    note: str | None = None
    updated_at: datetime


class Episode(BaseModel):
    id: int
    start: datetime = Field(description="onset of the activation")
    end: datetime | None = Field(description="None while the episode is still open")
    open: bool
    peak_at: datetime
    duration_s: float = Field(description="onset to end, or to now while open")
    peak_score: float = Field(description="highest activation score (units of the person's quiet fluctuation)")
    delta_hr_bpm: float = Field(description="largest 60 s heart-rate rise above the personal baseline, bpm")
    delta_ln_rmssd: float = Field(description="largest change of lnRMSSD from baseline: a fall, so ≤ 0 (ln ms)")
    recovery_s: float | None = Field(None, description="peak to settled again")
    half_recovery_s: float | None = Field(None, description="peak to half the peak score")
    prolonged: bool = False
    quality: float = Field(description="0..1: share of valid data in the episode")
    tag: TagOut | None = None
    needs_name: bool = Field(description="no name yet: waiting for the user")
    motion: Literal["still", "moving", "unknown"] = Field(
        "unknown", description="whether the body was still or moving during it; unknown: the strap gave no motion")
    set_aside: bool = Field(
        False, description="named 'i was moving': left out of the regulation statistics (summary counts, minutes activated)")


class Moment(BaseModel):
    id: int
    start: datetime
    end: datetime
    label: str
    note: str | None = None
    origin: Literal["episode", "moment"] = Field(
        description="moment: marked by the user; episode: named on an episode that re-analysis no longer finds"
    )


class ScoreScale(BaseModel):
    """Activation is in units of the person's own quiet fluctuation (0 = their quiet level)."""

    min: float
    max: float
    activated: float = Field(description="score from which a rise can count as activated")


class MotionScale(BaseModel):
    moving_mg: float = Field(description="a bucket whose mean activity reaches this counts as moving (mg)")


class Timeline(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime
    first_at: datetime = Field(description="start of the first bucket; bucket i starts at first_at + i·bucket_s")
    bucket_s: float
    hr_bpm: list[float | None]
    ln_rmssd: list[float | None]
    score: list[float | None]
    score_scale: ScoreScale
    activity_mg: list[float | None] = Field(
        description="mean activity per bucket (MAD of the acceleration over 5 s ticks, mg); null: motion unknown")
    posture: list[str | None] = Field(description="upright | reclined | lying per bucket; null: unknown")
    motion_scale: MotionScale
    states: list[StateSpan]
    episodes: list[Episode]
    moments: list[Moment]

    model_config = ConfigDict(populate_by_name=True)


class Episodes(BaseModel):
    episodes: list[Episode]
    moments: list[Moment]


class TagIn(Strict):
    label: str = Field(min_length=1, max_length=200, description=f"waiting, bracing or your own word (≤ {LABEL_MAX_CHARS} characters)")
    note: str | None = Field(None, max_length=NOTE_MAX_CHARS * 2)


class MomentIn(TagIn):
    start: ZonedTime
    end: ZonedTime


class Label(BaseModel):
    id: int = Field(description="for renaming and deleting (/api/labels/{id})")
    name: str
    builtin: bool = Field(description="waiting, bracing and 'i was moving': cannot be renamed or deleted")
    uses: int


class LabelIn(Strict):
    name: str = Field(min_length=1, max_length=200, description=f"the new name (≤ {LABEL_MAX_CHARS} characters)")


class Labels(BaseModel):
    labels: list[Label]


class LabelCount(BaseModel):
    label: str
    count: int


class PartOfDay(BaseModel):
    part: Literal["night", "morning", "afternoon", "evening"]
    count: int


class SettlingGroup(BaseModel):
    episodes: int = Field(description="episodes in this group with a settling time")
    median_s: float | None = Field(description="median onset → half recovery (s); null while either group is too small")


class Settling(BaseModel):
    """Settling time of episodes followed by a breathing session vs not (api.settling, docs/breathing.md)."""
    from_: datetime = Field(alias="from", description="episodes that began in [from, to)")
    to: datetime
    with_session: SettlingGroup = Field(description="a session started within `window_s` after onset")
    without_session: SettlingGroup = Field(description="no session in that window")
    comparable: bool = Field(description="both groups have at least `min_episodes`; otherwise no figure is given")
    min_episodes: int
    window_s: float
    left_out: int = Field(description="episodes in neither group: began during a session, window not over yet, "
                                      "or no settling time (open, never down to half its peak)")

    model_config = ConfigDict(populate_by_name=True)


class Summary(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime
    episodes: int = Field(description="episodes of activation, not counting those set aside")
    set_aside: int = Field(0, description="episodes named 'i was moving': left out of every other number here")
    by_label: list[LabelCount] = Field(description="named episodes and moments per label, plus 'not named yet'")
    time_of_day: list[PartOfDay] = Field(description="episode starts: night 0–6, morning 6–12, afternoon 12–18, evening 18–24")
    median_recovery_s: float | None
    activated_s: float = Field(description="time spent in the activated state, outside episodes set aside")
    breathing_sessions: int = Field(0, description="breathing sessions begun in the span")
    breathing_min: float = Field(0.0, description="minutes spent in breathing sessions in the span")
    settling: Settling | None = Field(None, description="settling time with vs without a breathing session, over the "
                                                        "four weeks ending with the span's end (the span, if longer)")

    model_config = ConfigDict(populate_by_name=True)


class PairIn(Strict):
    code: str = Field(min_length=4, max_length=40)
    want_token: bool = Field(False, description="also return a bearer token (for scripts)")


class PairOut(BaseModel):
    paired: bool
    token: str | None = Field(None, description="bearer token, only when asked for; shown once")


class Problem(BaseModel):
    detail: str


class WeekDay(BaseModel):
    date: str = Field(description="local calendar day, YYYY-MM-DD")
    from_: datetime = Field(alias="from")
    to: datetime
    waiting: int = Field(description="episodes and marked moments named waiting")
    bracing: int
    own: int = Field(description="named with the person's own words")
    unnamed: int = Field(description="episodes not named yet")
    activated_min: float = Field(description="minutes spent activated (or strongly so)")
    breathing_sessions: int = Field(0, description="breathing sessions begun that day")
    breathing_min: float = Field(0.0, description="minutes spent in breathing sessions that day")

    model_config = ConfigDict(populate_by_name=True)


class Week(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime = Field(description="end (exclusive): the midnight after the last day")
    days: list[WeekDay] = Field(description="seven local days, oldest first, the last one `end`")
    by_hour: list[int] = Field(description="episodes and moments by the local hour they began (24 counts)")
    waiting: int
    bracing: int
    own: int
    unnamed: int
    activated_min: float
    breathing_sessions: int = 0
    breathing_min: float = 0.0
    settling: Settling | None = Field(None, description="settling time with vs without a breathing session, over the week")

    model_config = ConfigDict(populate_by_name=True)
