-- Every column of the extract's tables and views with its type and comment, in order.
SELECT table_name AS name, column_name, data_type, comment
FROM duckdb_columns()
WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal
ORDER BY table_name, column_index
