-- 10 -> 11: agent hostnames (nullable, no default).
ALTER TABLE agents ADD COLUMN hostname TEXT;
