-- The staged rows of one month straight from the lines filter_lines.sql kept (no header):
-- parse them, keep BNF section 0407 exactly (the portal query's WHERE) and aggregate per
-- practice and presentation in the same pass, as opioid_rows.sql does for epd_rows (keep
-- the two in step). One pass instead of storing the rows first saves a few seconds a
-- month; the way in that has to merge two scans uses epd_rows instead.
--   $path     the kept lines       $columns  every header column, all VARCHAR
--   $prefix   the BNF section kept ('0407')
-- {snomed} is snomed_code when the file has a SNOMED_CODE column and NULL when it has
-- none; the caller checks it against that list.
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
  CAST(SUM(CAST(items AS DECIMAL(38, 10))) AS VARCHAR) AS items,
  CAST(SUM(CAST(total_quantity AS DECIMAL(38, 10))) AS VARCHAR) AS total_quantity,
  CAST(MAX(CAST(quantity AS DECIMAL(38, 10))) AS VARCHAR) AS quantity,
  CAST(SUM(CAST(nic AS DECIMAL(38, 10))) AS VARCHAR) AS nic,
  CAST(SUM(CAST(actual_cost AS DECIMAL(38, 10))) AS VARCHAR) AS actual_cost,
  COUNT(*) AS SOURCE_ROWS,
  COUNT(DISTINCT COALESCE({snomed}, '') || '|' || CAST(CAST(quantity AS DECIMAL(38, 10)) AS VARCHAR))
    AS DISTINCT_ROWS
FROM read_csv(
  $path,
  header = false,
  auto_detect = false,
  delim = ',',
  quote = '"',
  escape = '"',
  columns = $columns
)
WHERE starts_with(bnf_code, $prefix)
GROUP BY year_month, practice_code, bnf_code
