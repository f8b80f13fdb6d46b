-- Empties every statistics table before a full rebuild (same transaction as the rebuild).
DELETE FROM stat_values;
DELETE FROM stat_groups;
DELETE FROM stat_deciles;
DELETE FROM stat_spc_series;
DELETE FROM stat_spc_points;
DELETE FROM stat_months;
DELETE FROM stat_state;
DELETE FROM stat_keys;
DELETE FROM stat_orgs;
DELETE FROM stat_method;
