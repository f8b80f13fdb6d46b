-- Convenience views (and two wide tables) over the published tables, created after them.
--
-- Everything here is derived from the long tables, so it can never disagree with them.
-- The two "wide" relations are tables rather than views: their per-comparator columns
-- come from a PIVOT over the comparators present in the data, and DuckDB only allows a
-- PIVOT in a view when the pivot values are listed by hand. The extract never changes
-- after it is published, so a table holds exactly what a view would show (and is faster
-- for dashboards). Adding a comparator definition adds its columns with no edit here.

-- Every row of the latest month, all comparators, variants, denominators and periods.
CREATE VIEW latest_practice_comparators AS
SELECT * FROM practice_comparators
WHERE month = (SELECT max(month) FROM practice_comparators);

-- The one variant and denominator that stands for each comparator in the wide tables:
-- per registered patient (all ages) where the comparator has that denominator, and the
-- lowest high-dose threshold (90 mg OME/day, the current Opioids Aware threshold).
CREATE VIEW headline_comparators AS
SELECT comparator_id, variant, denominator_type, title, units, direction, kind, scale,
  high_dose_threshold_mg, sort_order
FROM comparators
QUALIFY row_number() OVER (
  PARTITION BY comparator_id
  ORDER BY denominator_type = 'patients' DESC, high_dose_threshold_mg ASC NULLS FIRST,
    variant, denominator_type
) = 1
ORDER BY sort_order, comparator_id;

-- National deciles side by side (one row per month and comparator key), for charts.
CREATE VIEW national_deciles_wide AS
SELECT month, comparator_id, variant, denominator_type, period,
  max(n_practices) AS n_practices,
  max(value) FILTER (WHERE percentile = 10) AS p10,
  max(value) FILTER (WHERE percentile = 20) AS p20,
  max(value) FILTER (WHERE percentile = 30) AS p30,
  max(value) FILTER (WHERE percentile = 40) AS p40,
  max(value) FILTER (WHERE percentile = 50) AS p50,
  max(value) FILTER (WHERE percentile = 60) AS p60,
  max(value) FILTER (WHERE percentile = 70) AS p70,
  max(value) FILTER (WHERE percentile = 80) AS p80,
  max(value) FILTER (WHERE percentile = 90) AS p90
FROM national_deciles
GROUP BY month, comparator_id, variant, denominator_type, period
ORDER BY comparator_id, variant, denominator_type, period, month;

-- A practice's series against the national deciles of the same month and key: the data
-- behind the "practice against national deciles over time" chart.
CREATE VIEW practice_vs_national_deciles AS
SELECT c.practice_code, p.practice_name, p.pcn_code, p.sub_icb_code, p.icb_code,
  c.month, c.comparator_id, c.variant, c.denominator_type, c.period, c.value,
  c.percentile_rank, c.small_practice, c.national_rate,
  d.p10, d.p20, d.p30, d.p40, d.p50, d.p60, d.p70, d.p80, d.p90
FROM practice_comparators AS c
JOIN practices AS p USING (practice_code)
LEFT JOIN national_deciles_wide AS d
  USING (month, comparator_id, variant, denominator_type, period);

-- One row per practice for the latest month; for each comparator's headline variant and
-- denominator: the month's value, the 12-month value, its percentile rank and funnel flag
-- (over-dispersion adjusted, 99.8%), and the SPC signal of the monthly series.
CREATE TABLE latest_practice_wide AS
WITH latest AS (
  SELECT max(month) AS month FROM practice_comparators
),
headline AS (
  SELECT c.practice_code, c.comparator_id,
    any_value(c.list_size) AS list_size,
    any_value(c.small_practice) AS small_practice,
    any_value(c.value) FILTER (WHERE c.period = '1m') AS value_1m,
    any_value(c.value) FILTER (WHERE c.period = '12m') AS value_12m,
    any_value(c.percentile_rank) FILTER (WHERE c.period = '12m') AS rank_12m,
    any_value(c.od_funnel_flag) FILTER (WHERE c.period = '12m') AS flag_12m,
    any_value(c.spc_signal) FILTER (WHERE c.period = '1m') AS spc
  FROM practice_comparators AS c
  JOIN headline_comparators AS h USING (comparator_id, variant, denominator_type)
  WHERE c.month = (SELECT month FROM latest)
  GROUP BY c.practice_code, c.comparator_id
),
size AS (
  SELECT practice_code, any_value(list_size) AS list_size,
    any_value(small_practice) AS small_practice
  FROM headline GROUP BY practice_code
),
wide AS (
  PIVOT (SELECT practice_code, comparator_id, value_1m, value_12m, rank_12m, flag_12m, spc
         FROM headline)
  ON comparator_id
  USING any_value(value_1m) AS "1m", any_value(value_12m) AS "12m",
    any_value(rank_12m) AS rank_12m, any_value(flag_12m) AS flag_12m, any_value(spc) AS spc
  GROUP BY practice_code
)
SELECT p.practice_code, p.practice_name, p.pcn_code, p.pcn_name, p.sub_icb_code,
  p.sub_icb_name, p.icb_code, p.icb_name, p.region_code, p.region_name,
  (SELECT month FROM latest) AS month, s.list_size, s.small_practice,
  w.* EXCLUDE (practice_code)
FROM practices AS p
JOIN size AS s USING (practice_code)
JOIN wide AS w USING (practice_code)
ORDER BY p.practice_code;

-- The organisation equivalent: one row per PCN, sub-ICB location, ICB, region and
-- England for the latest month, with each comparator's headline value (month and 12
-- months) and its percentile rank among organisations of the same level.
CREATE TABLE latest_organisation_wide AS
WITH latest AS (
  SELECT max(month) AS month FROM organisation_comparators
),
names AS (
  SELECT 'pcn' AS org_level, pcn_code AS org_code, any_value(pcn_name) AS org_name,
    count(*) AS n_practices
  FROM practices WHERE pcn_code IS NOT NULL GROUP BY pcn_code
  UNION ALL
  SELECT 'sub_icb', sub_icb_code, any_value(sub_icb_name), count(*)
  FROM practices WHERE sub_icb_code IS NOT NULL GROUP BY sub_icb_code
  UNION ALL
  SELECT 'icb', icb_code, any_value(icb_name), count(*)
  FROM practices WHERE icb_code IS NOT NULL GROUP BY icb_code
  UNION ALL
  SELECT 'region', region_code, any_value(region_name), count(*)
  FROM practices WHERE region_code IS NOT NULL GROUP BY region_code
  UNION ALL
  SELECT 'england', 'ENG', 'England', count(*) FROM practices
),
headline AS (
  SELECT o.org_level, o.org_code, o.comparator_id,
    any_value(o.value) FILTER (WHERE o.period = '1m') AS value_1m,
    any_value(o.value) FILTER (WHERE o.period = '12m') AS value_12m,
    any_value(o.percentile_rank) FILTER (WHERE o.period = '12m') AS rank_12m
  FROM organisation_comparators AS o
  JOIN headline_comparators AS h USING (comparator_id, variant, denominator_type)
  WHERE o.month = (SELECT month FROM latest)
  GROUP BY o.org_level, o.org_code, o.comparator_id
),
registered AS (
  SELECT org_level, org_code, max(denominator) AS registered_patients
  FROM organisation_comparators
  WHERE month = (SELECT month FROM latest) AND period = '1m' AND denominator_type = 'patients'
  GROUP BY org_level, org_code
),
wide AS (
  PIVOT headline
  ON comparator_id
  USING any_value(value_1m) AS "1m", any_value(value_12m) AS "12m",
    any_value(rank_12m) AS rank_12m
  GROUP BY org_level, org_code
)
SELECT w.org_level, w.org_code, n.org_name, (SELECT month FROM latest) AS month,
  n.n_practices, r.registered_patients, w.* EXCLUDE (org_level, org_code)
FROM wide AS w
LEFT JOIN names AS n USING (org_level, org_code)
LEFT JOIN registered AS r USING (org_level, org_code)
ORDER BY CASE w.org_level WHEN 'england' THEN 0 WHEN 'region' THEN 1 WHEN 'icb' THEN 2
    WHEN 'sub_icb' THEN 3 WHEN 'pcn' THEN 4 ELSE 5 END,
  w.org_code;
