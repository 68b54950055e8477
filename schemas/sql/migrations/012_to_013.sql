-- 12 -> 13: agents' optional text columns become empty strings instead of NULL.
UPDATE agents SET display = '' WHERE display IS NULL;
UPDATE agents SET hostname = '' WHERE hostname IS NULL;
UPDATE agents SET last_seen_at = '' WHERE last_seen_at IS NULL;
