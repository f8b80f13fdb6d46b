-- Sent to the NHSBSA portal's datastore_search_sql (BigQuery Standard SQL), not run locally.
-- The portal has no bind parameters, so the braces are identifiers only: the table is a
-- validated resource name and the columns come from the detected header layout, each
-- checked against ^[A-Z][A-Z0-9_]*$ before substitution; {row_key} is built from those
-- checked names only (pack size and SNOMED code: what identifies one source row, so
-- SOURCE_ROWS - DISTINCT_ROWS counts duplicated rows). No value is ever formatted in.
-- Aggregating server-side keeps a national month of BNF section 0407 small (one row per
-- practice and presentation instead of one per SNOMED code and pack size).
SELECT
  {year_month} AS {year_month},
  {practice_code} AS {practice_code},
  MAX({practice_name}) AS {practice_name},
  MAX({sub_icb_code}) AS {sub_icb_code},
  MAX({icb_code}) AS {icb_code},
  MAX({region_code}) AS {region_code},
  MAX({chemical_code}) AS {chemical_code},
  {bnf_code} AS {bnf_code},
  MAX({bnf_name}) AS {bnf_name},
  SUM({items}) AS {items},
  SUM({total_quantity}) AS {total_quantity},
  MAX({quantity}) AS {quantity},
  SUM({nic}) AS {nic},
  SUM({actual_cost}) AS {actual_cost},
  COUNT(*) AS SOURCE_ROWS,
  COUNT(DISTINCT {row_key}) AS DISTINCT_ROWS
FROM `{table}`
WHERE {bnf_code} LIKE '0407%'
GROUP BY {year_month}, {practice_code}, {bnf_code}
