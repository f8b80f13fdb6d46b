-- The organisation's own values ($level, $org) for the months $first_month..$last_month,
-- every comparator key, beside England's and, for PCNs, sub-ICB locations and ICBs, the
-- organisation's percentile rank among organisations of its level.
WITH own AS (
  SELECT month, comparator_id, variant, denominator_type, period, numerator, denominator,
    value, percentile_rank, n_organisations
  FROM organisation_comparators
  WHERE org_level = $level AND org_code = $org
  UNION ALL
  SELECT month, comparator_id, variant, denominator_type, period, numerator, denominator,
    value, percentile_rank, NULL
  FROM practice_comparators
  WHERE $level = 'practice' AND practice_code = $org
),
england AS (
  SELECT month, comparator_id, variant, denominator_type, period, value AS england_value
  FROM organisation_comparators
  WHERE org_level = 'england'
)
SELECT o.month, o.comparator_id, d.title AS comparator_title, o.variant, o.denominator_type,
  o.period, d.units, o.numerator, o.denominator, o.value, o.percentile_rank,
  o.n_organisations, e.england_value
FROM own AS o
JOIN comparators AS d USING (comparator_id, variant, denominator_type)
LEFT JOIN england AS e USING (month, comparator_id, variant, denominator_type, period)
WHERE o.month BETWEEN $first_month AND $last_month
ORDER BY d.sort_order, o.comparator_id, o.variant, o.denominator_type,
  CAST(rtrim(o.period, 'm') AS INTEGER), o.month
