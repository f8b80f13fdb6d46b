-- The practice series whose SPC a refresh recomputes: every practice x key with a monthly
-- row in a refreshed month, before (stat_values, not yet rewritten) or after (cell_values).
-- A series' centre line and limits use all of its points, so any change to one point
-- changes them all.
CREATE OR REPLACE TEMP TABLE spc_target AS
SELECT org_id, key_id FROM stat_values
WHERE org_level = 'practice' AND window_months = 1 AND month IN (SELECT month FROM stat_changed)
UNION
SELECT org_id, key_id FROM cell_values
WHERE org_level = 'practice' AND window_months = 1 AND month IN (SELECT month FROM stat_changed)
