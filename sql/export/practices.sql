-- The GP practices of one organisation ($level, $org), with their place in the hierarchy
-- and latest list size.
SELECT practice_code, practice_name, postcode, pcn_code, pcn_name, sub_icb_code,
  sub_icb_name, icb_code, icb_name, status_code, open_date, close_date, latest_patients,
  latest_adults, latest_list_size_month
FROM practices
WHERE CASE $level WHEN 'icb' THEN icb_code WHEN 'sub_icb' THEN sub_icb_code
    WHEN 'pcn' THEN pcn_code WHEN 'practice' THEN practice_code END = $org
ORDER BY practice_code
