-- Parse an EPD month's whole CSV and keep its BNF section 0407 rows (the exact filter, as
-- the portal query's WHERE) in epd_rows, for opioid_rows.sql to aggregate. This is the
-- way in that assumes nothing (used when the filter_lines.sql shortcut cannot account for
-- every row), and it also reads the set-aside Latin-1 rows, transcoded, on their own.
--   $path           the CSV: a file, the read end of a pipe, or the transcoded rows
--   $header         whether the first line is the header
--   $columns        every header column in file order, all VARCHAR: the used ones under
--                   internal names, the rest as unused_NNN (pipelines/sources/bulk_read.py)
--   $prefix         the BNF section kept ('0407')
--   $store_rejects  true: rows with invalid UTF-8 go to reject_errors instead of failing
--                   the scan (Latin-1 accents; the caller re-reads them as Latin-1)
--   $rejects_limit  how many rejects to record (0 when not storing them)
-- The one identifier, {snomed}, is snomed_code when the file has a SNOMED_CODE column and
-- NULL when it has none (the retired dataset); the caller checks it against that list.
-- Everything stays text here: numbers are converted only for the rows kept, in
-- opioid_rows.sql.
INSERT INTO epd_rows
SELECT
  year_month, practice_code, practice_name, sub_icb_code, icb_code, region_code,
  chemical_code, bnf_code, bnf_name, items, total_quantity, quantity, nic, actual_cost,
  {snomed}
FROM read_csv(
  $path,
  header = $header,
  auto_detect = false,
  delim = ',',
  quote = '"',
  escape = '"',
  columns = $columns,
  store_rejects = $store_rejects,
  rejects_limit = $rejects_limit
)
WHERE starts_with(bnf_code, $prefix);
