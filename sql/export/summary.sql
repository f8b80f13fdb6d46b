-- The Summary sheet: every practice of one organisation ($level, $org) in the latest month,
-- with each headline comparator (see headline_comparators) over 12 months: value, percentile
-- rank, national decile, over-dispersion adjusted funnel flag, the SPC signal of its monthly
-- series this month, and the change on the same 12 months a year earlier.
WITH latest AS (
  SELECT max(month) AS month FROM practice_comparators
),
members AS (
  SELECT practice_code, practice_name, pcn_name, latest_patients
  FROM practices
  WHERE CASE $level WHEN 'icb' THEN icb_code WHEN 'sub_icb' THEN sub_icb_code
      WHEN 'pcn' THEN pcn_code WHEN 'practice' THEN practice_code END = $org
),
monthly AS (
  SELECT c.practice_code, c.comparator_id, c.spc_signal
  FROM practice_comparators AS c
  JOIN headline_comparators AS h USING (comparator_id, variant, denominator_type)
  WHERE c.month = (SELECT month FROM latest) AND c.period = '1m'
)
SELECT m.practice_code, m.practice_name, m.pcn_name, m.latest_patients, c.small_practice,
  h.comparator_id, h.title, h.units, h.kind, h.sort_order, c.month, c.value,
  c.percentile_rank,
  CASE WHEN c.percentile_rank IS NOT NULL
    THEN least(10, CAST(floor(c.percentile_rank / 10) AS INTEGER) + 1) END AS decile,
  c.od_funnel_flag, s.spc_signal, c.change_abs, c.change_rel
FROM members AS m
JOIN practice_comparators AS c USING (practice_code)
JOIN headline_comparators AS h USING (comparator_id, variant, denominator_type)
LEFT JOIN monthly AS s USING (practice_code, comparator_id)
WHERE c.month = (SELECT month FROM latest) AND c.period = '12m'
ORDER BY m.practice_code, h.sort_order, h.comparator_id
