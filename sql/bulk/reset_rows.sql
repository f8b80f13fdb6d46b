-- Start again (when one way of reading the file hands over to the next).
DELETE FROM epd_rows;
