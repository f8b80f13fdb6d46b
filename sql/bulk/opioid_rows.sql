-- The staged rows of one month: epd_rows aggregated per practice and presentation exactly
-- as the portal query (sql/portal/epd_opioid_rows.sql) aggregates them, including the
-- count of distinct source rows (SNOMED code and pack size) that exposes duplicates. The
-- row key is one text value: DuckDB counts distinct strings several times faster than
-- distinct structs. The pack size in it is the number, not its text, so 28 and 28.0
-- are one key, as in the portal's typed column.
-- Measures are summed as exact decimals and handed on as text, so the result does not
-- depend on row order or threads and parses to the correctly rounded exact sum. Keep in
-- step with aggregate_lines.sql, which does the same in one pass over the kept lines.
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
  COUNT(DISTINCT COALESCE(snomed_code, '') || '|' || CAST(CAST(quantity AS DECIMAL(38, 10)) AS VARCHAR))
    AS DISTINCT_ROWS
FROM epd_rows
GROUP BY year_month, practice_code, bnf_code
