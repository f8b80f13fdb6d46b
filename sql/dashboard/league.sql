-- The league tables: for every organisation (England, region, ICB, sub-ICB location, PCN)
-- and comparator key, its member practices in the latest month, as one JSON object of
-- columns: c code, v value, n numerator, d denominator, r percentile rank, dec national
-- decile (1 lowest .. 10 highest, from the rank), f plain and o over-dispersion adjusted
-- 99.8% funnel flag, ca / cr change on 12 months (absolute / relative), s the SPC signal of
-- the monthly series this month, e eligible (ranked), sm small practice.
WITH latest AS (
  SELECT max(month) AS month FROM practice_comparators
),
members AS (
  SELECT 'england' AS org_level, 'ENG' AS org_code, practice_code FROM practices
  UNION ALL SELECT 'region', region_code, practice_code FROM practices WHERE region_code IS NOT NULL
  UNION ALL SELECT 'icb', icb_code, practice_code FROM practices WHERE icb_code IS NOT NULL
  UNION ALL SELECT 'sub_icb', sub_icb_code, practice_code FROM practices
    WHERE sub_icb_code IS NOT NULL
  UNION ALL SELECT 'pcn', pcn_code, practice_code FROM practices WHERE pcn_code IS NOT NULL
),
monthly_spc AS (
  SELECT practice_code, comparator_id, variant, denominator_type, spc_signal
  FROM practice_comparators
  WHERE month = (SELECT month FROM latest) AND period = '1m'
),
rows AS (
  SELECT c.practice_code,
    concat_ws('.', c.comparator_id, c.variant, c.denominator_type, c.period) AS key,
    c.value, c.numerator, c.denominator, c.percentile_rank, c.funnel_flag, c.od_funnel_flag,
    c.change_abs, c.change_rel, s.spc_signal, c.eligible, c.small_practice
  FROM practice_comparators AS c
  LEFT JOIN monthly_spc AS s USING (practice_code, comparator_id, variant, denominator_type)
  WHERE c.month = (SELECT month FROM latest)
)
SELECT m.org_level, m.org_code, r.key,
  json_object(
    'c', list(r.practice_code ORDER BY r.practice_code),
    'v', list(round(r.value, 4) ORDER BY r.practice_code),
    'n', list(round(r.numerator, 2) ORDER BY r.practice_code),
    'd', list(CAST(round(r.denominator) AS BIGINT) ORDER BY r.practice_code),
    'r', list(round(r.percentile_rank, 1) ORDER BY r.practice_code),
    'dec', list(CASE WHEN r.percentile_rank IS NOT NULL
      THEN least(10, CAST(floor(r.percentile_rank / 10) AS INTEGER) + 1) END
      ORDER BY r.practice_code),
    'f', list(r.funnel_flag ORDER BY r.practice_code),
    'o', list(r.od_funnel_flag ORDER BY r.practice_code),
    'ca', list(round(r.change_abs, 4) ORDER BY r.practice_code),
    'cr', list(round(r.change_rel, 4) ORDER BY r.practice_code),
    's', list(r.spc_signal ORDER BY r.practice_code),
    'e', list(r.eligible ORDER BY r.practice_code),
    'sm', list(r.small_practice ORDER BY r.practice_code)
  ) AS league
FROM members AS m
JOIN rows AS r USING (practice_code)
GROUP BY m.org_level, m.org_code, r.key
ORDER BY m.org_level, m.org_code, r.key
