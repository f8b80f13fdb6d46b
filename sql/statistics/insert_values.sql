-- Adds the rewritten cross-sections (cell_values) to stat_values with what each row needs
-- from its own cross-section and its own series:
-- * eligible: a practice with a value, a positive denominator and a list size of at least
--   $min_list_size (an unknown list size is not eligible). Ranks, deciles, the national
--   rate and over-dispersion are all computed over exactly these practices;
-- * percentile_rank: PERCENT_RANK x 100 (ties share the lowest rank, a lone value ranks 0)
--   among the eligible practices, or among the PCNs, sub-ICB locations or ICBs with a
--   value, of the same month, key and period; n_ranked counts the organisations ranked;
-- * value_12m_ago: the same organisation's value for the same key and period exactly 12
--   months earlier (looked up by month, so gaps are safe), from this refresh's rows or the
--   stored ones. Regions and England are too few to rank and get neither.
INSERT INTO stat_values
WITH marked AS (
  SELECT c.*,
    coalesce(c.org_level = 'practice' AND c.value IS NOT NULL AND c.denominator > 0
      AND c.numerator IS NOT NULL AND c.list_size >= $min_list_size, false) AS eligible,
    c.org_level IN ('pcn', 'sub_icb', 'icb') AS ranked_level,
    -- One integer per cross-section and level: partitioning on it is much cheaper than on
    -- the four columns it encodes.
    ((c.key_id * 16 + c.window_months) * 100000 + year(c.month) * 12 + month(c.month)) * 8
      + CASE c.org_level WHEN 'practice' THEN 0 WHEN 'pcn' THEN 1 WHEN 'sub_icb' THEN 2
                         WHEN 'icb' THEN 3 ELSE 4 END AS cross_section
  FROM cell_values AS c
),
ranked AS (
  SELECT m.*, eligible OR (ranked_level AND value IS NOT NULL) AS ranked FROM marked AS m
),
sizes AS (
  SELECT cross_section, count(*) FILTER (WHERE ranked) AS n_ranked
  FROM ranked GROUP BY cross_section
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
  r.denominator, r.months_in_window, r.value, r.list_size, r.eligible,
  CASE WHEN r.ranked THEN 100 * percent_rank() OVER (
    PARTITION BY r.cross_section, r.ranked ORDER BY r.value) END AS percentile_rank,
  CASE WHEN r.ranked_level THEN s.n_ranked END AS n_ranked,
  CASE WHEN r.org_level IN ('practice', 'pcn', 'sub_icb', 'icb') THEN e.value_12m_ago END
    AS value_12m_ago
FROM ranked AS r
JOIN sizes AS s USING (cross_section)
LEFT JOIN earlier AS e USING (org_id, key_id, window_months, month)
