CREATE OR REPLACE TABLE organisation_deciles AS SELECT * FROM stats_frame
