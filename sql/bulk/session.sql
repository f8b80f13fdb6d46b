-- Settings for the connection that reads one bulk EPD file. No progress bar in logs; the
-- profiler records how many rows the scan read (rows_read in the provenance) at no cost
-- worth measuring, so the count needs no second pass over 18 million rows.
SET enable_progress_bar = false;
SET enable_profiling = 'no_output';
