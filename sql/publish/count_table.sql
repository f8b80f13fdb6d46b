-- {table} is checked against the allowlist of published tables.
SELECT count(*) FROM {table}
