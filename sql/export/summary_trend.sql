-- The Summary chart's data: the monthly value of one organisation ($level, $org; a practice
-- for level 'practice') for each headline comparator, beside the national practice deciles
-- of the same month, over every month in the extract.
WITH own AS (
  SELECT month, comparator_id, variant, denominator_type, period, value
  FROM organisation_comparators
  WHERE org_level = $level AND org_code = $org
  UNION ALL
  SELECT month, comparator_id, variant, denominator_type, period, value
  FROM practice_comparators
  WHERE $level = 'practice' AND practice_code = $org
)
SELECT h.comparator_id, h.title, h.units, h.kind, h.sort_order, d.month, o.value,
  d.p10, d.p20, d.p30, d.p40, d.p50, d.p60, d.p70, d.p80, d.p90
FROM headline_comparators AS h
JOIN national_deciles_wide AS d USING (comparator_id, variant, denominator_type)
LEFT JOIN own AS o USING (month, comparator_id, variant, denominator_type, period)
WHERE d.period = '1m'
ORDER BY h.sort_order, h.comparator_id, d.month
