-- Adds the rewritten cross-sections (cell_values) to stat_values with what each row needs
-- from its own cross-section and its own series. The rows stream through hash joins; only
-- the ranked values themselves (two columns) are sorted, so a pass stays within the
-- memory limit:
-- * eligible: a practice with a value, a positive denominator and a list size of at least
--   $min_list_size (an unknown list size is not eligible). Ranks, deciles, the national
--   rate and over-dispersion are all computed over exactly these practices;
-- * percentile_rank: PERCENT_RANK x 100, i.e. 100 x (rank - 1) / (n - 1) with ties sharing
--   the lowest rank and a lone value ranking 0, among the eligible practices, or among the
--   PCNs, sub-ICB locations or ICBs with a value, of the same month, key and period;
--   n_ranked counts the organisations ranked;
-- * value_12m_ago: the same organisation's value for the same key and period exactly 12
--   months earlier (matched on the month, so gaps are safe), from this pass's rows or,
--   for months outside it, the stored ones (the pass's own cross-sections were deleted
--   before this runs, so each earlier row is found once).
-- Regions and England are too few to rank and get neither a rank nor a change.
INSERT INTO stat_values
WITH marked AS (
  SELECT *,
    coalesce(org_level = 'practice' AND value IS NOT NULL AND denominator > 0
      AND numerator IS NOT NULL AND list_size >= $min_list_size, false) AS eligible,
    org_level IN ('pcn', 'sub_icb', 'icb') AS ranked_level,
    -- One integer per cross-section and level: partitioning on it is much cheaper than on
    -- the columns it encodes.
    ((key_id * 16 + window_months) * 100000 + year(month) * 12 + month(month)) * 8
      + CASE org_level WHEN 'practice' THEN 0 WHEN 'pcn' THEN 1 WHEN 'sub_icb' THEN 2
                       WHEN 'icb' THEN 3 ELSE 4 END AS cross_section
  FROM cell_values
),
ranked AS (
  SELECT *, eligible OR (ranked_level AND value IS NOT NULL) AS ranked FROM marked
),
-- Ranks from the distinct ranked values alone (a narrow table, cheap to sort) joined back,
-- rather than a sort of every row with all its columns.
distinct_values AS (
  SELECT cross_section, value, count(*) AS ties
  FROM ranked WHERE ranked
  GROUP BY ALL
),
places AS (
  SELECT cross_section, value,
    sum(ties) OVER (PARTITION BY cross_section ORDER BY value
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS below
  FROM distinct_values
),
counts AS (
  SELECT cross_section, count(*) FILTER (WHERE ranked) AS n_ranked
  FROM ranked
  GROUP BY ALL
),
earlier AS (
  SELECT c.org_id, c.key_id, c.window_months, c.month, c.value
  FROM cell_values AS c
  SEMI JOIN (SELECT DISTINCT window_months, (month - INTERVAL 12 MONTH)::DATE AS month
             FROM stat_target) AS t
    ON t.window_months = c.window_months AND t.month = c.month
  WHERE c.org_level IN ('practice', 'pcn', 'sub_icb', 'icb')
  UNION ALL
  SELECT v.org_id, v.key_id, v.window_months, v.month, v.value
  FROM stat_values AS v
  SEMI JOIN (SELECT DISTINCT window_months, (month - INTERVAL 12 MONTH)::DATE AS month
             FROM stat_target) AS t
    ON t.window_months = v.window_months AND t.month = v.month
  WHERE v.org_level IN ('practice', 'pcn', 'sub_icb', 'icb')
)
SELECT w.org_level, w.org_id, w.key_id, w.window_months, w.month, w.numerator,
  w.denominator, w.months_in_window, w.value, w.list_size, w.eligible,
  CASE WHEN w.ranked THEN
    CASE WHEN c.n_ranked > 1 THEN 100 * (coalesce(p.below, 0) / (c.n_ranked - 1)) ELSE 0 END
  END AS percentile_rank,
  CASE WHEN w.ranked_level THEN c.n_ranked END AS n_ranked,
  e.value AS value_12m_ago
FROM ranked AS w
JOIN counts AS c USING (cross_section)
LEFT JOIN places AS p ON w.ranked AND p.cross_section = w.cross_section AND p.value = w.value
LEFT JOIN earlier AS e
  ON w.org_level IN ('practice', 'pcn', 'sub_icb', 'icb')
  AND e.org_id = w.org_id AND e.key_id = w.key_id AND e.window_months = w.window_months
  AND e.month = (w.month - INTERVAL 12 MONTH)::DATE
