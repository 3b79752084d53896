-- Display names (issue 17): what others see of a user, e.g. as a beat's creator; never the
-- email. New accounts get one from the address's local part (core's
-- access::display_name_from_email); accounts made before this migration have NULL here and are
-- shown under that same default until they choose one.
ALTER TABLE users ADD COLUMN name TEXT;
