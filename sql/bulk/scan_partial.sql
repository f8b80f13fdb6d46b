-- One pass over an EPD month's CSV: keep BNF section 0407 and aggregate per practice and
-- presentation as the portal query (sql/portal/epd_opioid_rows.sql) does.
--   $path           the CSV: a file, or the read end of the pipe a zip is inflated into
--   $columns        every header column in file order, all VARCHAR: the used ones under
--                   internal names, the rest as unused_NNN (pipelines/sources/bulk_read.py)
--   $prefix         the BNF section kept ('0407')
--   $store_rejects  true: rows with invalid UTF-8 go to reject_errors instead of failing
--                   the scan (Latin-1 accents; the caller re-reads them as Latin-1)
--   $rejects_limit  how many rejects to record (0 when not storing them)
-- Measures stay text while the rows stream past and are converted only for rows kept.
-- They are summed as exact decimals, so the result does not depend on row order or
-- threads, and the final text parses to the correctly rounded exact sum.
INSERT INTO epd_partial
SELECT
  year_month,
  practice_code,
  MAX(practice_name),
  MAX(sub_icb_code),
  MAX(icb_code),
  MAX(region_code),
  MAX(chemical_code),
  bnf_code,
  MAX(bnf_name),
  SUM(CAST(items AS DECIMAL(38, 10))),
  SUM(CAST(total_quantity AS DECIMAL(38, 10))),
  MAX(CAST(quantity AS DECIMAL(38, 10))),
  SUM(CAST(nic AS DECIMAL(38, 10))),
  SUM(CAST(actual_cost AS DECIMAL(38, 10))),
  COUNT(*)
FROM read_csv(
  $path,
  header = true,
  auto_detect = false,
  delim = ',',
  quote = '"',
  escape = '"',
  columns = $columns,
  store_rejects = $store_rejects,
  rejects_limit = $rejects_limit
)
WHERE starts_with(bnf_code, $prefix)
GROUP BY year_month, practice_code, bnf_code;
