-- Benchmark only (benchmarks/bench_statistics.py): synthetic list sizes, registered as
-- bench_frame, into the warehouse table compute_statistics reads.
INSERT INTO list_sizes BY NAME SELECT month, practice_code, patients, adults FROM bench_frame
