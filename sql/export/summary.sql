-- The Summary sheet, for the export (one organisation: $levels = [its level], $org its
-- code) and for the dashboard's workbooks (every organisation of $levels: $org NULL):
-- each organisation's practices in the latest month, with each headline comparator (see
-- headline_comparators) over 12 months: value, percentile rank, national decile,
-- over-dispersion adjusted funnel flag, the SPC signal of its monthly series this month,
-- and the change on the same 12 months a year earlier.
WITH latest AS (
  SELECT max(month) AS month FROM practice_comparators
),
members AS (
  SELECT * FROM (
    SELECT 'england' AS org_level, 'ENG' AS org_code, practice_code FROM practices
    UNION ALL SELECT 'region', region_code, practice_code FROM practices
      WHERE region_code IS NOT NULL
    UNION ALL SELECT 'icb', icb_code, practice_code FROM practices WHERE icb_code IS NOT NULL
    UNION ALL SELECT 'sub_icb', sub_icb_code, practice_code FROM practices
      WHERE sub_icb_code IS NOT NULL
    UNION ALL SELECT 'pcn', pcn_code, practice_code FROM practices WHERE pcn_code IS NOT NULL
    UNION ALL SELECT 'practice', practice_code, practice_code FROM practices
  )
  WHERE list_contains($levels, org_level) AND ($org IS NULL OR org_code = $org)
),
monthly AS (
  SELECT c.practice_code, c.comparator_id, c.spc_signal
  FROM practice_comparators AS c
  JOIN headline_comparators AS h USING (comparator_id, variant, denominator_type)
  WHERE c.month = (SELECT month FROM latest) AND c.period = '1m'
),
summary AS (
  SELECT p.practice_code, p.practice_name, p.pcn_name, p.latest_patients, c.small_practice,
    h.comparator_id, h.title, h.units, h.kind, h.sort_order, c.month, c.value,
    c.percentile_rank,
    CASE WHEN c.percentile_rank IS NOT NULL
      THEN least(10, CAST(floor(c.percentile_rank / 10) AS INTEGER) + 1) END AS decile,
    c.od_funnel_flag, s.spc_signal, c.change_abs, c.change_rel
  FROM practices AS p
  JOIN practice_comparators AS c USING (practice_code)
  JOIN headline_comparators AS h USING (comparator_id, variant, denominator_type)
  LEFT JOIN monthly AS s USING (practice_code, comparator_id)
  WHERE c.month = (SELECT month FROM latest) AND c.period = '12m'
)
SELECT m.org_level, m.org_code, s.*
FROM members AS m
JOIN summary AS s USING (practice_code)
ORDER BY m.org_level, m.org_code, s.practice_code, s.sort_order, s.comparator_id
