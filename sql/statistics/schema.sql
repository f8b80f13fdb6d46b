-- Tables of the statistics stage (pipelines/statistics.py). Idempotent.
--
-- Everything is stored once, compactly: one row per organisation, comparator key, period
-- and month with the values, ranks and the value 12 months earlier (stat_values); one row
-- per cross-section for the national rate and over-dispersion (stat_groups); deciles;
-- and SPC per practice series (stat_spc_series) with only its special-cause points
-- (stat_spc_points). The published shapes are views over these (statistics/views.sql),
-- so funnel limits, flags and changes are arithmetic at read time, not stored copies.
CREATE TABLE IF NOT EXISTS stat_keys (
  key_id INTEGER, comparator_id VARCHAR, variant VARCHAR, denominator_type VARCHAR,
  scale DOUBLE, kind VARCHAR, direction VARCHAR
);
CREATE TABLE IF NOT EXISTS stat_orgs (
  org_id INTEGER, org_level VARCHAR, org_code VARCHAR,
  -- For practices: the organisations they roll up to (null when unknown).
  pcn_id INTEGER, sub_icb_id INTEGER, icb_id INTEGER, region_id INTEGER
);
CREATE TABLE IF NOT EXISTS stat_values (
  org_level VARCHAR, org_id INTEGER, key_id INTEGER, window_months UTINYINT, month DATE,
  numerator DOUBLE, denominator DOUBLE, months_in_window BIGINT, value DOUBLE,
  list_size BIGINT, eligible BOOLEAN, percentile_rank DOUBLE, n_ranked BIGINT,
  value_12m_ago DOUBLE
);
CREATE TABLE IF NOT EXISTS stat_groups (
  key_id INTEGER, window_months UTINYINT, month DATE, theta DOUBLE, phi DOUBLE,
  tau2 DOUBLE, n_eligible BIGINT, n_min DOUBLE, n_max DOUBLE
);
CREATE TABLE IF NOT EXISTS stat_deciles (
  org_level VARCHAR, key_id INTEGER, window_months UTINYINT, month DATE,
  percentile INTEGER, value DOUBLE, n BIGINT
);
CREATE TABLE IF NOT EXISTS stat_spc_series (
  org_id INTEGER, key_id INTEGER, n_points BIGINT, mean DOUBLE, ucl DOUBLE, lcl DOUBLE
);
CREATE TABLE IF NOT EXISTS stat_spc_points (
  org_id INTEGER, key_id INTEGER, month DATE, rules VARCHAR, signal VARCHAR
);
-- What the stored statistics were computed from: per-month fingerprints of the inputs,
-- and one fingerprint of everything else (organisations, definitions, parameters, SQL).
CREATE TABLE IF NOT EXISTS stat_months (
  month DATE, fingerprint HUGEINT
);
CREATE TABLE IF NOT EXISTS stat_state (
  fingerprint VARCHAR
);
-- The method's parameters the published views need (one row, written with the rebuild).
CREATE TABLE IF NOT EXISTS stat_method (
  min_list_size BIGINT, z95 DOUBLE, z998 DOUBLE, funnel_points INTEGER
);
