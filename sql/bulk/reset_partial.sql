-- Start the partial aggregates again (when a direct read hands over to the pipe).
DELETE FROM epd_partial;
