-- {table} is checked against an allowlist; {replace} is built in pipelines/publish.py
-- from the table's own VARCHAR columns (read from the catalog, quoted).
COPY (SELECT * {replace} FROM {table}) TO $path (FORMAT csv, HEADER true)
