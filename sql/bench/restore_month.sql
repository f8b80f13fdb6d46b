-- Benchmark only: the held-back month arrives (as the monthly comparator asset writes it).
INSERT INTO practice_comparator_months SELECT * FROM bench_held_comparators;
INSERT INTO list_sizes SELECT * FROM bench_held_list_sizes;
DROP TABLE bench_held_comparators;
DROP TABLE bench_held_list_sizes;
