-- Rows the scan set aside, one line per row (DuckDB records one entry per bad column).
-- line_byte_position locates the row in the file, give or take a byte.
SELECT
  line_byte_position,
  MIN(line) AS line,
  STRING_AGG(DISTINCT error_type, ', ') AS error_types,
  ANY_VALUE(error_message) AS error_message,
  COUNT(*) AS entries
FROM reject_errors
GROUP BY line_byte_position
ORDER BY line_byte_position
