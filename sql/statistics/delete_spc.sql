-- Removes the SPC of the series being recomputed (spc_target).
DELETE FROM stat_spc_series AS s USING spc_target AS t
WHERE s.org_id = t.org_id AND s.key_id = t.key_id;
DELETE FROM stat_spc_points AS p USING spc_target AS t
WHERE p.org_id = t.org_id AND p.key_id = t.key_id;
