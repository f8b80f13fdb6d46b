-- {table}: a table an earlier version stored where a published view now lives
-- (allowlist in pipelines/statistics.py).
DROP TABLE {table}
