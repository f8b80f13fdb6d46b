SELECT count(*) FROM duckdb_columns()
WHERE database_name = current_database() AND table_name = $table AND column_name = $column
