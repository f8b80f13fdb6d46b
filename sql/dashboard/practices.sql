-- The practices with a page, and the organisations they belong to.
SELECT practice_code, practice_name, postcode, pcn_code, pcn_name, sub_icb_code, sub_icb_name,
  icb_code, icb_name, region_code, region_name, status_code, latest_patients, latest_adults,
  latest_list_size_month
FROM practices
ORDER BY practice_code
