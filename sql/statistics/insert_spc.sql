-- Stores the recomputed SPC (spc_points): the centre line and limits once per series, and
-- only the points where a special cause fired (the others are common cause).
INSERT INTO stat_spc_series
SELECT DISTINCT org_id, key_id, n_points, mean, ucl, lcl FROM spc_points;
INSERT INTO stat_spc_points
SELECT org_id, key_id, month, rules, signal FROM spc_points WHERE rules <> '';
