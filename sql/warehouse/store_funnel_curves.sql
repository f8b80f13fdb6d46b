CREATE OR REPLACE TABLE funnel_curves AS SELECT * FROM stats_frame
