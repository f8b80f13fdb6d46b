-- Partial per-practice, per-presentation aggregates of one EPD month's section 0407 rows.
-- The main scan inserts here, and so does the re-read of any rows DuckDB set aside for
-- invalid UTF-8 (Latin-1 accents): exact decimal sums and maxima merge without error.
CREATE TEMP TABLE epd_partial (
  year_month VARCHAR, practice_code VARCHAR, practice_name VARCHAR, sub_icb_code VARCHAR,
  icb_code VARCHAR, region_code VARCHAR, chemical_code VARCHAR, bnf_code VARCHAR,
  bnf_name VARCHAR, items DECIMAL(38, 10), total_quantity DECIMAL(38, 10),
  quantity DECIMAL(38, 10), nic DECIMAL(38, 10), actual_cost DECIMAL(38, 10),
  source_rows BIGINT
);
