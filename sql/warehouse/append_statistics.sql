-- {table} is one of the statistics tables (allowlist in pipelines/statistics.py).
INSERT INTO {table} BY NAME SELECT * FROM stats_frame
