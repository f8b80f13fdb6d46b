-- Benchmark only (benchmarks/bench_statistics.py): synthetic per-practice comparator
-- months, registered as bench_frame, into the table compute_statistics starts from.
INSERT INTO practice_comparator_months BY NAME
SELECT month, practice_code, comparator_id, variant, denominator_type, numerator, denominator
FROM bench_frame
