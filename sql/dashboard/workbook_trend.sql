-- The Trend sheet of every organisation's workbook (the levels in $levels), in one
-- pass: each organisation's monthly value of each headline comparator beside the
-- national practice deciles of the same month, for the months from $first_month (blank
-- where the organisation has no value); the columns of export/summary_trend.sql, by
-- organisation.
WITH organisations AS (
  SELECT DISTINCT org_level, org_code FROM organisation_comparators
  WHERE list_contains($levels, org_level)
),
deciles AS (
  SELECT h.comparator_id, h.variant, h.denominator_type, h.title, h.units, h.kind,
    h.sort_order, d.month, d.period, d.p10, d.p20, d.p30, d.p40, d.p50, d.p60, d.p70,
    d.p80, d.p90
  FROM headline_comparators AS h
  JOIN national_deciles_wide AS d USING (comparator_id, variant, denominator_type)
  WHERE d.period = '1m' AND d.month >= $first_month
)
SELECT g.org_level, g.org_code, d.comparator_id, d.title, d.units, d.kind, d.sort_order,
  d.month, o.value, d.p10, d.p20, d.p30, d.p40, d.p50, d.p60, d.p70, d.p80, d.p90
FROM organisations AS g
CROSS JOIN deciles AS d
LEFT JOIN organisation_comparators AS o
  ON o.org_level = g.org_level AND o.org_code = g.org_code AND o.month = d.month
  AND o.comparator_id = d.comparator_id AND o.variant = d.variant
  AND o.denominator_type = d.denominator_type AND o.period = d.period
ORDER BY g.org_level, g.org_code, d.sort_order, d.comparator_id, d.month
