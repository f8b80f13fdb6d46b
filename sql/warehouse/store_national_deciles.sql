CREATE OR REPLACE TABLE national_deciles AS SELECT * FROM stats_frame
