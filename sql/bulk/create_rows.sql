-- The section 0407 rows of one EPD month, as read (text), before aggregation. The main
-- scan inserts here, and so does the re-read of any lines DuckDB set aside for invalid
-- UTF-8 (Latin-1 accents), so opioid_rows.sql aggregates every row once, together.
CREATE TEMP TABLE epd_rows (
  year_month VARCHAR, practice_code VARCHAR, practice_name VARCHAR, sub_icb_code VARCHAR,
  icb_code VARCHAR, region_code VARCHAR, chemical_code VARCHAR, bnf_code VARCHAR,
  bnf_name VARCHAR, items VARCHAR, total_quantity VARCHAR, quantity VARCHAR, nic VARCHAR,
  actual_cost VARCHAR, snomed_code VARCHAR
);
