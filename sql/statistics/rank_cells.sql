-- Eligibility and percentile ranks of the rewritten cross-sections (cell_values), into the
-- temporary table cell_ranked (cell_values plus these columns):
-- * eligible: a practice with a value, a positive denominator and a list size of at least
--   $min_list_size (an unknown list size is not eligible). Ranks, deciles, the national
--   rate and over-dispersion are all computed over exactly these practices;
-- * percentile_rank: PERCENT_RANK x 100 (ties share the lowest rank, a lone value ranks 0)
--   among the eligible practices, or among the PCNs, sub-ICB locations or ICBs with a
--   value, of the same month, key and period. Regions and England are too few to rank.
-- Ranking is a statement of its own, over the scanned rows: a window over rows widened
-- by joins is several times slower.
CREATE OR REPLACE TEMP TABLE cell_ranked AS
WITH marked AS (
  SELECT c.*,
    coalesce(c.org_level = 'practice' AND c.value IS NOT NULL AND c.denominator > 0
      AND c.numerator IS NOT NULL AND c.list_size >= $min_list_size, false) AS eligible,
    c.org_level IN ('pcn', 'sub_icb', 'icb') AS ranked_level
  FROM cell_values AS c
),
ranked AS (
  SELECT *, eligible OR (ranked_level AND value IS NOT NULL) AS ranked FROM marked
)
SELECT *,
  CASE WHEN ranked THEN 100 * percent_rank() OVER (
    -- one integer per cross-section, level and ranked or not: partitioning on it is much
    -- cheaper than on the columns it encodes
    PARTITION BY (((key_id * 16 + window_months) * 100000 + year(month) * 12 + month(month)) * 8
      + CASE org_level WHEN 'practice' THEN 0 WHEN 'pcn' THEN 1 WHEN 'sub_icb' THEN 2
                       WHEN 'icb' THEN 3 ELSE 4 END) * 2 + ranked::INTEGER
    ORDER BY value) END AS percentile_rank
FROM ranked
