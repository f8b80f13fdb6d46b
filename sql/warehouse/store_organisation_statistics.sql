CREATE OR REPLACE TABLE organisation_statistics AS SELECT * FROM stats_frame
