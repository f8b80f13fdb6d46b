-- The text columns of one table of the extract, in order (for the CSV's formula guard).
SELECT column_name
FROM duckdb_columns()
WHERE table_name = $table AND data_type = 'VARCHAR' AND NOT internal
ORDER BY column_index
