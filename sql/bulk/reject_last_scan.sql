-- The highest scan_id in reject_errors so far (the table exists once a scan stored rejects).
SELECT COALESCE(MAX(scan_id), 0) FROM reject_errors
