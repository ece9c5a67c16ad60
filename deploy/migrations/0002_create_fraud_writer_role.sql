-- 0002: fraud_writer, the least-privilege role for fraud-server: read and insert decisions, nothing else
-- (no UPDATE, DELETE, TRUNCATE, DDL), plus reading schema_migrations so a server connecting as a member
-- of it can check that the schema is current.
--
-- NOLOGIN: grant it to the server's login role (GRANT fraud_writer TO fraud_server_login) and run
-- migrations as the owner. Creating a role needs CREATEROLE (roles are cluster-wide); when the
-- migrating user lacks it, this migration fails with insufficient_privilege, fraud-server logs a line,
-- does not record it, and tries again at the next start.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fraud_writer') THEN
        IF NOT (SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            RAISE EXCEPTION 'role % cannot create role fraud_writer (needs CREATEROLE)', current_user
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        CREATE ROLE fraud_writer NOLOGIN;
    END IF;
END
$$;
REVOKE ALL ON decisions FROM fraud_writer;
GRANT SELECT, INSERT ON decisions TO fraud_writer;
GRANT SELECT ON schema_migrations TO fraud_writer;
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO fraud_writer', current_schema());
END
$$;
