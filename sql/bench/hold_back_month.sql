-- Benchmark only: moves one month's practice comparator rows and list sizes aside, to be
-- added back as "the new month" (bench/restore_month.sql).
CREATE OR REPLACE TABLE bench_held_comparators AS
SELECT * FROM practice_comparator_months WHERE month = $month;
CREATE OR REPLACE TABLE bench_held_list_sizes AS
SELECT * FROM list_sizes WHERE month = $month;
DELETE FROM practice_comparator_months WHERE month = $month;
DELETE FROM list_sizes WHERE month = $month;
