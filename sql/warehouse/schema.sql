-- The warehouse tables. Idempotent: run on every writable connection.
CREATE TABLE IF NOT EXISTS epd_opioid_rows (
  month DATE NOT NULL, practice_code VARCHAR NOT NULL, practice_name VARCHAR,
  sub_icb_code VARCHAR, icb_code VARCHAR, region_code VARCHAR, chemical_code VARCHAR,
  bnf_code VARCHAR NOT NULL, bnf_name VARCHAR, items BIGINT, total_quantity DOUBLE,
  max_quantity DOUBLE, nic DOUBLE, actual_cost DOUBLE, source_rows BIGINT,
  duplicate_rows BIGINT
);
CREATE TABLE IF NOT EXISTS list_sizes (
  month DATE NOT NULL, practice_code VARCHAR NOT NULL, patients BIGINT, adults BIGINT
);
CREATE TABLE IF NOT EXISTS organisations (
  practice_code VARCHAR PRIMARY KEY, practice_name VARCHAR, postcode VARCHAR,
  pcn_code VARCHAR, pcn_name VARCHAR, sub_icb_code VARCHAR, sub_icb_name VARCHAR,
  icb_code VARCHAR, icb_name VARCHAR, region_code VARCHAR, region_name VARCHAR,
  prescribing_setting INTEGER, status_code VARCHAR, open_date DATE, close_date DATE,
  mapping_source VARCHAR
);
CREATE TABLE IF NOT EXISTS presentations (
  month DATE NOT NULL, bnf_code VARCHAR NOT NULL, bnf_name VARCHAR, chemical_code VARCHAR,
  canonical_chemical_code VARCHAR, substance VARCHAR, in_scope BOOLEAN, strong BOOLEAN,
  route VARCHAR, form VARCHAR, strength_value DOUBLE, strength_unit VARCHAR,
  mg_per_unit DOUBLE, wear_hours DOUBLE, ome_factor DOUBLE, ome_factor_source VARCHAR,
  ome_mg_per_unit DOUBLE, regular_long_acting BOOLEAN, doses_per_day DOUBLE,
  likely_daily_ome_mg DOUBLE, non_cancer_scope BOOLEAN, resolved BOOLEAN, note VARCHAR,
  max_units_per_item DOUBLE
);
CREATE TABLE IF NOT EXISTS presentation_facts (
  month DATE NOT NULL, practice_code VARCHAR NOT NULL, bnf_code VARCHAR NOT NULL,
  bnf_name VARCHAR, chemical_code VARCHAR, substance VARCHAR, items BIGINT,
  total_quantity DOUBLE, max_quantity DOUBLE, ome_mg DOUBLE, in_scope BOOLEAN,
  non_cancer_scope BOOLEAN, strong BOOLEAN, regular_long_acting BOOLEAN, patch BOOLEAN,
  likely_daily_ome_mg DOUBLE, resolved BOOLEAN, implausible_quantity BOOLEAN,
  days_in_month INTEGER
);
CREATE TABLE IF NOT EXISTS comparator_definitions (
  comparator_id VARCHAR, variant VARCHAR, denominator_type VARCHAR, title VARCHAR,
  units VARCHAR, direction VARCHAR, kind VARCHAR, scale DOUBLE, sort_order BIGINT,
  num_measure VARCHAR, num_in_scope BOOLEAN, num_non_cancer_scope BOOLEAN,
  num_strong BOOLEAN, num_regular_long_acting BOOLEAN, num_patch BOOLEAN,
  num_high_dose BOOLEAN, high_dose_threshold_mg DOUBLE, den_population VARCHAR,
  den_measure VARCHAR, den_in_scope BOOLEAN, den_non_cancer_scope BOOLEAN,
  den_strong BOOLEAN, den_regular_long_acting BOOLEAN, den_patch BOOLEAN,
  den_high_dose BOOLEAN, plausible_min DOUBLE, plausible_max DOUBLE
);
CREATE TABLE IF NOT EXISTS practice_comparator_months (
  month DATE NOT NULL, practice_code VARCHAR NOT NULL, comparator_id VARCHAR NOT NULL,
  variant VARCHAR NOT NULL, denominator_type VARCHAR NOT NULL,
  -- Exact decimals: sums over practices and months then do not depend on the order in
  -- which parallel threads add them, so a re-run reproduces every digit.
  numerator DECIMAL(38, 6), denominator DECIMAL(38, 6)
);
CREATE TABLE IF NOT EXISTS quantity_limits (form VARCHAR PRIMARY KEY, max_units_per_item DOUBLE, reason VARCHAR);
-- Migrations for warehouses created by earlier versions (each is a no-op when applied).
ALTER TABLE epd_opioid_rows ADD COLUMN IF NOT EXISTS duplicate_rows BIGINT;
ALTER TABLE practice_comparator_months ALTER numerator TYPE DECIMAL(38, 6);
ALTER TABLE practice_comparator_months ALTER denominator TYPE DECIMAL(38, 6);
