-- Text cells a spreadsheet would run as a formula get a leading apostrophe in the
-- published CSVs (see pipelines/csv_safety.py, which does the same for exports).
CREATE OR REPLACE TEMP MACRO csv_safe(v) AS
    CASE WHEN regexp_matches(v, '^[=+\-@\t\r]') THEN '''' || v ELSE v END
