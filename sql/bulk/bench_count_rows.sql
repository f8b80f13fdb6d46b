-- The benchmark's floor: DuckDB counting the rows of an EPD CSV, the least any DuckDB read
-- of the file can cost (no column is converted, so no text is validated either). The
-- dialect and columns are given, as the bulk reader gives them: a sniffer's sample could
-- miss the quoting or stop at a Latin-1 byte.
SELECT count(*)
FROM read_csv(
  $path,
  header = true,
  auto_detect = false,
  delim = ',',
  quote = '"',
  escape = '"',
  columns = $columns
)
