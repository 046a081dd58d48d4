"""Naming moments: labels, an episode's tag, and moments the detector missed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Response

from attune.api import analysis, queries
from attune.api.app import AppContext, context
from attune.api.models import Episode, Label, Labels, Moment, MomentIn, Problem, TagIn
from attune.api.tags import (
    episode_tag_clear,
    episode_tag_set,
    labels_list,
    moment_add,
    moment_update,
    tag_delete,
    tag_get,
)
from attune.api.timefmt import to_epoch_ms

router = APIRouter(tags=["naming"])

EpisodeId = Path(ge=1, le=2**62, description="episode id from /api/episodes or /api/timeline")
MomentId = Path(ge=1, le=2**62)
NOT_FOUND = {404: {"model": Problem}, 422: {"model": Problem}}


@router.get("/api/labels", response_model=Labels, summary="Labels to choose from: waiting, bracing and your own")
def labels(ctx: AppContext = Depends(context)) -> Labels:
    return Labels(labels=[Label(name=x.name, builtin=x.builtin, uses=x.uses) for x in labels_list(ctx.db.conn())])


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
    tag = moment_add(ctx.db.conn(), to_epoch_ms(body.start), to_epoch_ms(body.end), body.label, body.note)
    ctx.live.publish("tag", {"moment_id": tag.id})
    return queries.moment_out(tag)


@router.put("/api/moments/{moment_id}", response_model=Moment, responses=NOT_FOUND,
            summary="Rename a moment or change its note")
def moment_put(body: TagIn, moment_id: int = MomentId, ctx: AppContext = Depends(context)) -> Moment:
    tag = moment_update(ctx.db.conn(), moment_id, body.label, body.note)
    if tag is None:
        raise HTTPException(404, f"no moment {moment_id}")
    ctx.live.publish("tag", {"moment_id": moment_id})
    return queries.moment_out(tag)


@router.delete("/api/moments/{moment_id}", status_code=204, responses=NOT_FOUND, summary="Remove a moment")
def moment_delete(moment_id: int = MomentId, ctx: AppContext = Depends(context)) -> Response:
    conn = ctx.db.conn()
    if tag_get(conn, moment_id) is None or not tag_delete(conn, moment_id):
        raise HTTPException(404, f"no moment {moment_id}")
    ctx.live.publish("tag", {"moment_id": moment_id})
    return Response(status_code=204)
