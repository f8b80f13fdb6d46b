-- One ICB's monthly trend for one comparator: the ICB's value (sum of its practices'
-- numerators over the sum of their denominators), England's, the gap, the ICB's rank among
-- ICBs, and the national median practice for reference.
-- Parameters: $icb_code (e.g. 'QSN'), $comparator_id, $variant, $denominator_type,
-- $period.
SELECT
  o.month,
  o.numerator,
  o.denominator,
  round(o.value, 2) AS icb_value,
  round(e.value, 2) AS england_value,
  round(o.value - e.value, 2) AS difference,
  round(100 * (o.value / e.value - 1), 1) AS pct_vs_england,
  round(o.percentile_rank, 1) AS rank_among_icbs,
  o.n_organisations AS icbs_ranked,
  round(d.value, 2) AS median_practice
FROM organisation_comparators AS o
LEFT JOIN organisation_comparators AS e
  ON e.org_level = 'england' AND e.month = o.month AND e.comparator_id = o.comparator_id
  AND e.variant = o.variant AND e.denominator_type = o.denominator_type
  AND e.period = o.period
LEFT JOIN national_deciles AS d
  ON d.percentile = 50 AND d.month = o.month AND d.comparator_id = o.comparator_id
  AND d.variant = o.variant AND d.denominator_type = o.denominator_type
  AND d.period = o.period
WHERE o.org_level = 'icb'
  AND o.org_code = $icb_code
  AND o.comparator_id = $comparator_id
  AND o.variant = $variant
  AND o.denominator_type = $denominator_type
  AND o.period = $period
ORDER BY o.month;
