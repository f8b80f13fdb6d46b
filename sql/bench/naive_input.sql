-- Benchmark only (benchmarks/bench_statistics.py): the practices' comparator values (every
-- period) as one plain table, the input of the naive statement.
CREATE OR REPLACE TABLE bench_naive_input AS
SELECT org_code AS practice_code, month, comparator_id, variant, denominator_type, period,
  numerator, denominator, value, scale, kind, direction, list_size
FROM practice_statistics
