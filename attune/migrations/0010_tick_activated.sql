-- The minutes activated of a day or a week (api.analysis.activated_s) count ticks by state.
-- Only a few percent of ticks are activated, so this small index answers the count without
-- reading every tick of the span (the week view: 7 x 17,280 ticks). The query must name the
-- states as literals for SQLite to use a partial index.
CREATE INDEX tick_activated ON tick(epoch_ms) WHERE state IN ('activated', 'high');
