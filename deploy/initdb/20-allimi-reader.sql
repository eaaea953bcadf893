-- Run once by the postgis image when it creates the database (as POSTGRES_USER, the owner that
-- migrates): the login the portal reads with (ALLIMI_READ_DATABASE_URL), a member of the group
-- role allimi_read, to which Allimi's migrations grant the published views and nothing else.
CREATE ROLE allimi_read NOLOGIN;
CREATE ROLE allimi_reader LOGIN PASSWORD 'allimi_reader' IN ROLE allimi_read;
