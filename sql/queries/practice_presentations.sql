-- The products behind one practice's opioid burden (opioid_ome_daily) in one month, largest
-- OME first: items, quantity, OME per day, each product's contribution to the comparator
-- value (mg OME per day per 1,000 registered patients; the contributions add up to the
-- practice's value) and the running share. Remove "AND b.non_cancer_scope" to see every
-- route, including the palliative products counted only in all_routes_ome_daily.
-- Parameters: $practice_code (e.g. 'B81208'), $month (e.g. '2025-12-01').
WITH patients AS (
  SELECT denominator AS patients
  FROM practice_comparators
  WHERE practice_code = $practice_code AND month = CAST($month AS DATE)
    AND comparator_id = 'opioid_ome_daily' AND variant = 'standard'
    AND denominator_type = 'patients' AND period = '1m'
),
products AS (
  SELECT b.bnf_code, b.bnf_name, b.substance, b.route, b.form, b.items, b.total_quantity,
    b.ome_mg_per_unit, b.ome_mg_per_day, b.regular_long_acting, b.likely_daily_ome_mg,
    b.implausible_quantity
  FROM presentation_breakdown AS b
  WHERE b.practice_code = $practice_code AND b.month = CAST($month AS DATE)
    AND b.non_cancer_scope
)
SELECT
  p.bnf_code,
  p.bnf_name,
  p.substance,
  p.route,
  p.items,
  p.total_quantity,
  p.ome_mg_per_unit,
  round(p.ome_mg_per_day, 1) AS ome_mg_per_day,
  round(1000 * p.ome_mg_per_day / n.patients, 2) AS per_1000_patients,
  round(100 * p.ome_mg_per_day / sum(p.ome_mg_per_day) OVER (), 1) AS pct_of_practice_ome,
  round(100 * sum(p.ome_mg_per_day) OVER (
    ORDER BY p.ome_mg_per_day DESC, p.items DESC, p.bnf_code
    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
  ) / sum(p.ome_mg_per_day) OVER (), 1) AS cumulative_pct,
  p.regular_long_acting,
  p.likely_daily_ome_mg,
  p.implausible_quantity
FROM products AS p
CROSS JOIN patients AS n
ORDER BY p.ome_mg_per_day DESC, p.items DESC, p.bnf_code;
