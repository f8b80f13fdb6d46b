-- Adds the rewritten cross-sections (cell_ranked: values, eligibility and ranks) to
-- stat_values, with:
-- * n_ranked: how many PCNs, sub-ICB locations or ICBs were ranked in the row's
--   cross-section (null for practices, regions and England);
-- * value_12m_ago: the same organisation's value for the same key and period exactly 12
--   months earlier (looked up by month, so gaps are safe), from this refresh's rows or the
--   stored ones. Regions and England are too few to rank and get no change either.
INSERT INTO stat_values
WITH sizes AS (
  SELECT org_level, key_id, window_months, month, count(*) FILTER (WHERE ranked) AS n_ranked
  FROM cell_ranked
  WHERE ranked_level
  GROUP BY ALL
),
earlier AS (
  SELECT org_id, key_id, window_months, (month + INTERVAL 12 MONTH)::DATE AS month,
    value AS value_12m_ago
  FROM (
    SELECT org_id, key_id, window_months, month, value FROM cell_values
    WHERE org_level IN ('practice', 'pcn', 'sub_icb', 'icb')
    UNION ALL
    SELECT v.org_id, v.key_id, v.window_months, v.month, v.value
    FROM stat_values AS v
    SEMI JOIN (SELECT DISTINCT window_months, (month - INTERVAL 12 MONTH)::DATE AS month
               FROM stat_target) AS t
      ON t.window_months = v.window_months AND t.month = v.month
    WHERE v.org_level IN ('practice', 'pcn', 'sub_icb', 'icb')
  )
)
SELECT r.org_level, r.org_id, r.key_id, r.window_months, r.month, r.numerator,
  r.denominator, r.months_in_window, r.value, r.list_size, r.eligible, r.percentile_rank,
  s.n_ranked,
  CASE WHEN r.org_level IN ('practice', 'pcn', 'sub_icb', 'icb') THEN e.value_12m_ago END
    AS value_12m_ago
FROM cell_ranked AS r
LEFT JOIN sizes AS s USING (org_level, key_id, window_months, month)
LEFT JOIN earlier AS e USING (org_id, key_id, window_months, month)
