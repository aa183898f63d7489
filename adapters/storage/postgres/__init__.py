"""PostgreSQL storage (psycopg 3 and its async pool): the production profile."""
