-- Placeholder on branch i17-faults only: migration 0014 belongs to another branch of issue 17,
-- and migrations must be consecutive (src/platform/db/migrate.ts). Drop this file when that
-- branch's 0014 is merged.
SELECT 1;
