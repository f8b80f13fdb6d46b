-- Rows a scan set aside, one line per row (DuckDB records one entry per bad column).
-- line_byte_position locates the row in the file, give or take a byte. $after is the
-- highest scan_id recorded before this scan (reject_last_scan.sql), so earlier scans on
-- the same connection are left out.
SELECT
  line_byte_position,
  MIN(line) AS line,
  STRING_AGG(DISTINCT error_type, ', ') AS error_types,
  ANY_VALUE(error_message) AS error_message,
  COUNT(*) AS entries
FROM reject_errors
WHERE scan_id > $after
GROUP BY line_byte_position
ORDER BY line_byte_position
