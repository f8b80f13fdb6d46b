-- Adds the rewritten cross-sections (cell_values) to stat_values with what each row needs
-- from its own cross-section and its own series, in one pass over the values (no copy of
-- them and no join, so a full rebuild streams within the memory limit):
-- * eligible: a practice with a value, a positive denominator and a list size of at least
--   $min_list_size (an unknown list size is not eligible). Ranks, deciles, the national
--   rate and over-dispersion are all computed over exactly these practices;
-- * percentile_rank: PERCENT_RANK x 100 (ties share the lowest rank, a lone value ranks 0)
--   among the eligible practices, or among the PCNs, sub-ICB locations or ICBs with a
--   value, of the same month, key and period; n_ranked counts the organisations ranked;
-- * value_12m_ago: the same organisation's value for the same key and period exactly 12
--   months earlier (looked up by month, so gaps are safe), from this refresh's rows or,
--   for months not being rewritten, the stored ones (read along, then dropped).
-- Regions and England are too few to rank and get neither a rank nor a change.
INSERT INTO stat_values
WITH rows AS (
  SELECT c.*, true AS rewritten FROM cell_values AS c
  UNION ALL
  SELECT v.org_level, v.org_id, v.key_id, v.window_months, v.month, NULL, NULL, NULL, v.value,
    NULL, false
  FROM stat_values AS v
  SEMI JOIN (SELECT DISTINCT window_months, (month - INTERVAL 12 MONTH)::DATE AS month
             FROM stat_target) AS t
    ON t.window_months = v.window_months AND t.month = v.month
  WHERE v.org_level IN ('practice', 'pcn', 'sub_icb', 'icb')
),
marked AS (
  SELECT *,
    coalesce(rewritten AND org_level = 'practice' AND value IS NOT NULL AND denominator > 0
      AND numerator IS NOT NULL AND list_size >= $min_list_size, false) AS eligible,
    rewritten AND org_level IN ('pcn', 'sub_icb', 'icb') AS ranked_level,
    -- One integer per cross-section and level: partitioning on it is much cheaper than on
    -- the columns it encodes.
    ((key_id * 16 + window_months) * 100000 + year(month) * 12 + month(month)) * 8
      + CASE org_level WHEN 'practice' THEN 0 WHEN 'pcn' THEN 1 WHEN 'sub_icb' THEN 2
                       WHEN 'icb' THEN 3 ELSE 4 END AS cross_section,
    year(month) * 12 + month(month) AS month_index
  FROM rows
),
ranked AS (
  SELECT *, eligible OR (ranked_level AND value IS NOT NULL) AS ranked FROM marked
),
windowed AS (
  SELECT *,
    CASE WHEN ranked THEN 100 * percent_rank() OVER (
      PARTITION BY cross_section * 2 + ranked::INTEGER ORDER BY value) END AS percentile_rank,
    CASE WHEN ranked_level THEN count(*) FILTER (WHERE ranked) OVER (
      PARTITION BY cross_section) END AS n_ranked,
    CASE WHEN org_level IN ('practice', 'pcn', 'sub_icb', 'icb') THEN max(value) OVER (
      PARTITION BY org_id, key_id, window_months ORDER BY month_index
      RANGE BETWEEN 12 PRECEDING AND 12 PRECEDING) END AS value_12m_ago
  FROM ranked
)
SELECT org_level, org_id, key_id, window_months, month, numerator, denominator,
  months_in_window, value, list_size, eligible, percentile_rank, n_ranked, value_12m_ago
FROM windowed
WHERE rewritten
