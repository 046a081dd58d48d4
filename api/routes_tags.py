"""Naming moments: labels, an episode's tag, and moments the detector missed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Response

from attune.api import analysis, queries
from attune.api.deps import AppContext, context
from attune.api.models import Episode, Label, LabelIn, Labels, Moment, MomentIn, Problem, TagIn
from attune.api.tags import (
    LabelInfo,
    LabelLocked,
    Tag,
    episode_tag_clear,
    episode_tag_set,
    label_delete,
    label_rename,
    labels_list,
    moment_add,
    moment_update,
    tag_delete,
    tag_get,
    tags_for_episodes,
    tags_overlapping,
)
from attune.timeutil import datetime_to_epoch_ms

router = APIRouter(tags=["naming"])

EpisodeId = Path(ge=1, le=2**62, description="episode id from /api/episodes or /api/timeline")
MomentId = Path(ge=1, le=2**62)
LabelId = Path(ge=1, le=2**62, description="label id from /api/labels")
NOT_FOUND = {404: {"model": Problem}, 422: {"model": Problem}}
LOCKED = {**NOT_FOUND, 409: {"model": Problem}}


def _label(x: LabelInfo) -> Label:
    return Label(id=x.id, name=x.name, builtin=x.builtin, uses=x.uses)


@router.get("/api/labels", response_model=Labels, summary="Labels to choose from: waiting, bracing and your own")
def labels(ctx: AppContext = Depends(context)) -> Labels:
    return Labels(labels=[_label(x) for x in labels_list(ctx.db.conn())])


@router.put("/api/labels/{label_id}", response_model=Label, responses=LOCKED,
            summary="Rename one of your labels (every moment named with it follows; an existing name merges)")
def label_put(body: LabelIn, label_id: int = LabelId, ctx: AppContext = Depends(context)) -> Label:
    try:
        renamed = label_rename(ctx.db.conn(), label_id, body.name)
    except LabelLocked as exc:
        raise HTTPException(409, str(exc)) from None
    if renamed is None:
        raise HTTPException(404, f"no label {label_id}")
    ctx.live.publish("tag", {"label_id": renamed.id})
    return _label(renamed)


@router.delete("/api/labels/{label_id}", status_code=204, responses=LOCKED,
               summary="Delete one of your labels that no moment uses")
def label_delete_route(label_id: int = LabelId, ctx: AppContext = Depends(context)) -> Response:
    try:
        deleted = label_delete(ctx.db.conn(), label_id)
    except LabelLocked as exc:
        raise HTTPException(409, str(exc)) from None
    if not deleted:
        raise HTTPException(404, f"no label {label_id}")
    return Response(status_code=204)


def _moment_or_404(ctx: AppContext, moment_id: int) -> Tag:
    """A tag listed as a moment: one marked by hand, or an episode's name whose episode
    re-analysis no longer finds. The name of an episode shown as such is changed on the
    episode (PUT /api/episodes/{id}/tag), never through its tag id."""
    conn = ctx.db.conn()
    tag = tag_get(conn, moment_id)
    if tag is None:
        raise HTTPException(404, f"no moment {moment_id}")
    if tag.origin == "episode":
        # widened: an episode's extent (its recovery) may reach past its end into the tag
        rows = analysis.episodes_between(conn, tag.start_epoch_ms - 6 * 3600_000, tag.end_epoch_ms)
        lo = min([r.onset_ms for r in rows], default=tag.start_epoch_ms)
        hi = max([r.extent_end_ms for r in rows], default=tag.end_epoch_ms)
        attached, _ = tags_for_episodes([(r.id, r.onset_ms, r.extent_end_ms) for r in rows],
                                        tags_overlapping(conn, lo, hi))
        episodes = sorted(eid for eid, t in attached.items() if t.id == tag.id)
        if episodes:
            raise HTTPException(409, f"{moment_id} is the name of episode {episodes[0]}: "
                                f"change it with /api/episodes/{episodes[0]}/tag")
    return tag


def _episode_or_404(ctx: AppContext, episode_id: int) -> analysis.EpisodeRow:
    row = analysis.episode_get(ctx.db.conn(), episode_id)
    if row is None:
        raise HTTPException(404, f"no episode {episode_id} (re-analysis may have renumbered episodes; reload)")
    return row


@router.put("/api/episodes/{episode_id}/tag", response_model=Episode, responses=NOT_FOUND,
            summary="Name an episode (waiting, bracing, or your own word) with an optional note")
def tag_put(body: TagIn, episode_id: int = EpisodeId, ctx: AppContext = Depends(context)) -> Episode:
    row = _episode_or_404(ctx, episode_id)
    conn = ctx.db.conn()
    episode_tag_set(conn, row.onset_ms, row.extent_end_ms, body.label, body.note)
    ctx.live.publish("tag", {"episode_id": episode_id})
    return queries.episode_out(conn, row)


@router.delete("/api/episodes/{episode_id}/tag", status_code=204, responses=NOT_FOUND,
               summary="Remove an episode's name")
def tag_delete_route(episode_id: int = EpisodeId, ctx: AppContext = Depends(context)) -> Response:
    row = _episode_or_404(ctx, episode_id)
    if not episode_tag_clear(ctx.db.conn(), row.onset_ms, row.extent_end_ms):
        raise HTTPException(404, f"episode {episode_id} has no name to remove")
    ctx.live.publish("tag", {"episode_id": episode_id})
    return Response(status_code=204)


@router.post("/api/moments", response_model=Moment, status_code=201, responses={422: {"model": Problem}},
             summary="Mark and name a span the detector did not call an episode")
def moment_post(body: MomentIn, ctx: AppContext = Depends(context)) -> Moment:
    tag = moment_add(ctx.db.conn(), datetime_to_epoch_ms(body.start), datetime_to_epoch_ms(body.end), body.label, body.note)
    ctx.live.publish("tag", {"moment_id": tag.id})
    return queries.moment_out(tag)


@router.put("/api/moments/{moment_id}", response_model=Moment, responses=LOCKED,
            summary="Rename a moment or change its note")
def moment_put(body: TagIn, moment_id: int = MomentId, ctx: AppContext = Depends(context)) -> Moment:
    _moment_or_404(ctx, moment_id)
    tag = moment_update(ctx.db.conn(), moment_id, body.label, body.note)
    if tag is None:
        raise HTTPException(404, f"no moment {moment_id}")
    ctx.live.publish("tag", {"moment_id": moment_id})
    return queries.moment_out(tag)


@router.delete("/api/moments/{moment_id}", status_code=204, responses=LOCKED, summary="Remove a moment")
def moment_delete(moment_id: int = MomentId, ctx: AppContext = Depends(context)) -> Response:
    conn = ctx.db.conn()
    _moment_or_404(ctx, moment_id)
    if not tag_delete(conn, moment_id):
        raise HTTPException(404, f"no moment {moment_id}")
    ctx.live.publish("tag", {"moment_id": moment_id})
    return Response(status_code=204)
