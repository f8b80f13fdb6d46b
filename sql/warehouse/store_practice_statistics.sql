CREATE OR REPLACE TABLE practice_statistics AS SELECT * FROM stats_frame
