-- One row per practice x presentation for the month, with OME and the flags comparators
-- filter on. OME = TOTAL_QUANTITY (already summed over pack sizes) x mg OME per unit.
INSERT INTO presentation_facts
SELECT
  r.month,
  r.practice_code,
  r.bnf_code,
  r.bnf_name,
  COALESCE(p.canonical_chemical_code, r.chemical_code) AS chemical_code,
  p.substance,
  r.items,
  r.total_quantity,
  r.max_quantity,
  CASE WHEN p.resolved THEN r.total_quantity * p.ome_mg_per_unit END AS ome_mg,
  COALESCE(p.in_scope, FALSE) AS in_scope,
  COALESCE(p.non_cancer_scope AND p.resolved, FALSE) AS non_cancer_scope,
  COALESCE(p.strong, FALSE) AS strong,
  COALESCE(p.regular_long_acting AND p.resolved, FALSE) AS regular_long_acting,
  COALESCE(p.form = 'patch' AND p.in_scope, FALSE) AS patch,
  p.likely_daily_ome_mg,
  COALESCE(p.resolved, FALSE) AS resolved,
  COALESCE(r.max_quantity > p.max_units_per_item, FALSE) AS implausible_quantity,
  dayofmonth(last_day(r.month)) AS days_in_month
FROM epd_opioid_rows AS r
LEFT JOIN presentations AS p
  ON p.month = r.month AND p.bnf_code = r.bnf_code AND p.bnf_name IS NOT DISTINCT FROM r.bnf_name
WHERE r.month = $month
