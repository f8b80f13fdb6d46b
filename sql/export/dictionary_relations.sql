-- Tables and views of the extract with their comments, for the data dictionary.
SELECT table_name AS name, 'table' AS type, comment
FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'
UNION ALL
SELECT view_name, 'view', comment
FROM duckdb_views() WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal
