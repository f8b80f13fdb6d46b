-- No progress bar: it would only clutter logs and benchmark output.
SET enable_progress_bar = false;
