-- {table} is one of the statistics tables (allowlist in pipelines/statistics.py).
CREATE OR REPLACE TABLE {table} AS SELECT * FROM stats_frame
