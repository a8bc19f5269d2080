-- Tables the analysis writes. The source tables are the collectors' (collectors/schema.sql); ground truth is the
-- sample app's (sample_app/ground_truth.sql).

-- The answerability matrix over every order: one row per question and source.
CREATE TABLE IF NOT EXISTS answerability (
    question_id  VARCHAR NOT NULL,
    question     VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    verdict      VARCHAR NOT NULL,   -- 'answers', 'partial' or 'cannot'
    fraction     DOUBLE NOT NULL,    -- share of units (orders, or groups) answered completely and correctly
    reason       VARCHAR NOT NULL,   -- for a partial or cannot: every cause with its count and an example unit
    orders_right INTEGER NOT NULL,
    orders_total INTEGER NOT NULL,
    PRIMARY KEY (question_id, source)
);
-- Added later: databases scored before keep their table and gain the columns.
ALTER TABLE answerability ADD COLUMN IF NOT EXISTS n INTEGER;            -- units judged (= orders_total)
ALTER TABLE answerability ADD COLUMN IF NOT EXISTS ci_low DOUBLE;        -- Wilson 95% interval of the fraction (NULL: n = 0)
ALTER TABLE answerability ADD COLUMN IF NOT EXISTS ci_high DOUBLE;
ALTER TABLE answerability ADD COLUMN IF NOT EXISTS few_cases BOOLEAN;    -- 0 < n < 5: the fraction says little

-- The same matrix without the runs that were deleted (what an operator sees inside retention).
CREATE TABLE IF NOT EXISTS answerability_retained AS SELECT * FROM answerability LIMIT 0;

-- Every judged unit of every cell, one table per scope (answerability_units_all for table answerability,
-- answerability_units_retained for answerability_retained), each replaced whole when its scope is scored; the view
-- answerability_units reads both, naming the scope. Its outcome and, when not right, one cause (analysis/causes.py).
CREATE TABLE IF NOT EXISTS answerability_units_all (
    question_id VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    unit        VARCHAR NOT NULL,    -- the order id, or the group's values joined by ' / '
    outcome     VARCHAR NOT NULL,    -- 'right', 'missing', 'incomplete' or 'wrong'
    cause       VARCHAR,             -- NULL when right
    detail      VARCHAR
);
CREATE TABLE IF NOT EXISTS answerability_units_retained (
    question_id VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    unit        VARCHAR NOT NULL,
    outcome     VARCHAR NOT NULL,
    cause       VARCHAR,
    detail      VARCHAR
);
CREATE OR REPLACE VIEW answerability_units AS
    SELECT 'all' AS scope, * FROM answerability_units_all
    UNION ALL SELECT 'retained' AS scope, * FROM answerability_units_retained;
