-- First pass over an EPD month's CSV: keep only the lines that can be BNF section 0407
-- rows, without splitting them into columns, and write them to $out for the second pass
-- (aggregate_lines.sql). Reading each line as one text value (no delimiter or quote in the
-- way) is DuckDB's fastest path through a CSV, faster even than counting its rows with
-- every column declared, and it leaves about 3% of a national month to parse properly.
--   $path           the CSV: a file, or the read end of the pipe a zip is inflated into
--   $no_delimiter   a byte that never occurs in the file (chr(1)): one column per line
--   $needle         '0407': every line holding a section 0407 BNF code contains it; the
--                   few other lines that do (a SNOMED code, a price) are dropped by the
--                   exact filter in scan_rows.sql. One needle, as each is a scan of the line
--   $store_rejects  true: lines with invalid UTF-8 (Latin-1 accents) are set aside in
--                   reject_errors instead of failing the scan; the caller re-reads them
--   $rejects_limit  how many rejects to record (0 when not storing them)
COPY (
  SELECT line
  FROM read_csv(
    $path,
    header = true,
    auto_detect = false,
    delim = $no_delimiter,
    quote = '',
    escape = '',
    columns = {'line': 'VARCHAR'},
    store_rejects = $store_rejects,
    rejects_limit = $rejects_limit
  )
  WHERE contains(line, $needle)
) TO $out (FORMAT csv, HEADER false, QUOTE '');
