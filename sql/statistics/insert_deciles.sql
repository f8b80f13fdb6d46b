-- Deciles (PERCENTILE_CONT: linear interpolation at position (n - 1) q) of the rewritten
-- cross-sections: across eligible practices (org_level 'practice', published as the
-- national deciles) and across the PCNs, sub-ICB locations and ICBs with a value. A
-- cross-section with nothing to rank has no deciles.
INSERT INTO stat_deciles
WITH included AS (
  SELECT v.org_level, v.key_id, v.window_months, v.month, v.value
  FROM stat_values AS v
  SEMI JOIN stat_target AS t ON t.window_months = v.window_months AND t.month = v.month
  WHERE v.eligible OR (v.org_level IN ('pcn', 'sub_icb', 'icb') AND v.value IS NOT NULL)
),
quantiles AS (
  SELECT org_level, key_id, window_months, month,
    quantile_cont(value, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) AS q, count(*) AS n
  FROM included
  GROUP BY ALL
)
SELECT org_level, key_id, window_months, month, (10 * i)::INTEGER AS percentile, q[i] AS value, n
FROM quantiles
CROSS JOIN (SELECT range AS i FROM range(1, 10)) AS r
