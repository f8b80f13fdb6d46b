-- The practice series whose SPC a refresh recomputes: every practice x key with a monthly
-- row in a refreshed month, before the refresh (stat_values, read before any rewrite) or
-- after it (the inputs, as the values step reads them). A series' centre line and limits
-- use all of its points, so any change to one point changes them all.
CREATE OR REPLACE TEMP TABLE spc_target AS
SELECT org_id, key_id FROM stat_values
WHERE org_level = 'practice' AND window_months = 1 AND month IN (SELECT month FROM stat_changed)
UNION
SELECT o.org_id, k.key_id
FROM practice_comparator_months AS x
JOIN stat_orgs AS o ON o.org_level = 'practice' AND o.org_code = x.practice_code
JOIN stat_keys AS k USING (comparator_id, variant, denominator_type)
WHERE x.month IN (SELECT month FROM stat_changed)
