-- The staged rows of one month: the partial aggregates merged (max of maxima, sum of exact
-- sums) and the measures handed on as exact decimal text for normalise() to parse.
SELECT
  year_month,
  practice_code,
  MAX(practice_name) AS practice_name,
  MAX(sub_icb_code) AS sub_icb_code,
  MAX(icb_code) AS icb_code,
  MAX(region_code) AS region_code,
  MAX(chemical_code) AS chemical_code,
  bnf_code,
  MAX(bnf_name) AS bnf_name,
  CAST(SUM(items) AS VARCHAR) AS items,
  CAST(SUM(total_quantity) AS VARCHAR) AS total_quantity,
  CAST(MAX(quantity) AS VARCHAR) AS quantity,
  CAST(SUM(nic) AS VARCHAR) AS nic,
  CAST(SUM(actual_cost) AS VARCHAR) AS actual_cost,
  SUM(source_rows) AS SOURCE_ROWS
FROM epd_partial
GROUP BY year_month, practice_code, bnf_code
