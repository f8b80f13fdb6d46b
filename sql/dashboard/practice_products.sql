-- The products behind the numbers for the practices whose codes lie in $first..$last, over
-- the last $months months: per practice a JSON object with the products it had (name,
-- substance, route, form, which comparators count it, its likely daily dose) and one row
-- per product and month [month position, product, items, quantity, mg OME per day],
-- largest OME first.
WITH months AS (
  SELECT month, row_number() OVER (ORDER BY month) - 1 AS i
  FROM (SELECT DISTINCT month FROM practice_comparators)
),
recent AS (
  SELECT month, i FROM months WHERE i >= (SELECT max(i) FROM months) - $months + 1
),
rows AS (
  SELECT b.*, r.i
  FROM presentation_breakdown AS b
  JOIN recent AS r USING (month)
  WHERE b.practice_code BETWEEN $first AND $last
),
products AS (
  SELECT practice_code, bnf_code, bnf_name,
    json_object(
      'name', any_value(bnf_name), 'substance', any_value(substance),
      'route', any_value(route), 'form', any_value(form),
      'ns', bool_or(non_cancer_scope), 'strong', bool_or(strong),
      'rla', bool_or(regular_long_acting), 'patch', bool_or(patch),
      'dose', round(max(likely_daily_ome_mg), 1), 'resolved', bool_and(resolved),
      'implausible', bool_or(implausible_quantity)
    ) AS product,
    sum(ome_mg) AS total_ome
  FROM rows
  GROUP BY practice_code, bnf_code, bnf_name
),
numbered AS (
  SELECT *, row_number() OVER (
    PARTITION BY practice_code ORDER BY total_ome DESC NULLS LAST, bnf_code, bnf_name) - 1 AS p
  FROM products
)
SELECT n.practice_code,
  json_object(
    'products', (SELECT list(x.product ORDER BY x.p) FROM numbered AS x
                 WHERE x.practice_code = n.practice_code),
    'rows', list([r.i, n.p, r.items, round(r.total_quantity, 1), round(r.ome_mg_per_day, 2)]
                 ORDER BY r.i, n.p)
  ) AS products
FROM numbered AS n
JOIN rows AS r
  ON r.practice_code = n.practice_code AND r.bnf_code = n.bnf_code
  AND r.bnf_name IS NOT DISTINCT FROM n.bnf_name
GROUP BY n.practice_code
ORDER BY n.practice_code
