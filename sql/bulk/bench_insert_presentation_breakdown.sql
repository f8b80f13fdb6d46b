-- Benchmark only (benchmarks/bench_dashboard.py): synthetic products behind the numbers in a
-- benchmark extract, $products presentations per practice and month, so practice pages
-- carry a realistic products table.
INSERT INTO presentation_breakdown BY NAME
SELECT p.practice_code, m.month,
  printf('0407020%08d', k) AS bnf_code, printf('Synthetic opioid %d mg tablets', k) AS bnf_name,
  '040702000' AS chemical_code, 'morphine' AS substance, 'oral' AS route, 'tablet' AS form,
  1 + (hash(p.practice_code, m.month, k) % 40) AS items,
  28.0 * (1 + (hash(p.practice_code, m.month, k) % 40)) AS total_quantity, 56.0 AS max_quantity,
  k * 1.0 AS ome_mg_per_unit,
  28.0 * k * (1 + (hash(p.practice_code, m.month, k) % 40)) AS ome_mg,
  28.0 * k * (1 + (hash(p.practice_code, m.month, k) % 40)) / 30 AS ome_mg_per_day,
  true AS in_scope, true AS non_cancer_scope, k % 2 = 0 AS strong,
  k % 3 = 0 AS regular_long_acting, false AS patch,
  CASE WHEN k % 3 = 0 THEN 10.0 * k END AS likely_daily_ome_mg, true AS resolved,
  false AS implausible_quantity
FROM practices AS p
CROSS JOIN (SELECT DISTINCT month FROM practice_comparators) AS m
CROSS JOIN range(1, $products + 1) AS r(k)
